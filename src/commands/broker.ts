import {BaseCommand} from '../cli/base-command.js'

export default class Broker extends BaseCommand {
  static override summary = 'placeholder'
  async run(): Promise<void> {}
}
