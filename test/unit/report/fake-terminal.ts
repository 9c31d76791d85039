import {stripVTControlCharacters} from 'node:util'
import {EventEmitter} from 'node:events'

/**
 * A stand-in for a terminal stream: records every write, reports a size, and can claim to be a TTY. Enough of
 * NodeJS.WriteStream for Ink and the line reporters (write, columns, rows, isTTY, resize events).
 */
export class FakeTerminal extends EventEmitter {
  readonly writes: string[] = []
  constructor(
    public columns = 100,
    public rows = 30,
    public isTTY = true,
  ) {
    super()
  }

  write(chunk: string | Uint8Array, ...rest: unknown[]): boolean {
    this.writes.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'))
    const callback = rest.find((r) => typeof r === 'function') as (() => void) | undefined
    callback?.()
    return true
  }

  get text(): string {
    return this.writes.join('')
  }

  asStream(): NodeJS.WriteStream {
    return this as unknown as NodeJS.WriteStream
  }
}

/** Removes colour and cursor-control sequences, leaving what a person would read. */
export function stripEscapes(text: string): string {
  return stripVTControlCharacters(text)
}
