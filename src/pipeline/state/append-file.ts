/**
 * A file appended to with write(2) itself, for what must hold before a source message is acknowledged (the input
 * log, the dead letter): when `append` returns, the bytes are in the OS page cache and survive a killed process
 * (kill -9), whatever the fsync policy. The policy decides what a machine crash or power cut can take, as Redis's
 * `appendfsync`: `always` nothing (one fdatasync per append), `everysec` at most the last second, `never` whatever
 * the OS had not written yet.
 */
import {closeSync, fdatasyncSync, openSync, writeSync} from 'node:fs'

export type FsyncPolicy = 'always' | 'everysec' | 'never'

export class AppendFile {
  private fd: number | undefined
  private dirty = false
  private syncTimer?: NodeJS.Timeout

  constructor(
    readonly path: string,
    private readonly fsync: FsyncPolicy,
  ) {
    this.fd = openSync(path, 'a')
    if (fsync === 'everysec') {
      this.syncTimer = setInterval(() => this.sync(), 1000)
      this.syncTimer.unref()
    }
  }

  append(data: Buffer | string): void {
    if (this.fd === undefined) throw new Error(`${this.path} is closed`)
    const buf = typeof data === 'string' ? Buffer.from(data) : data
    let off = 0
    while (off < buf.length) off += writeSync(this.fd, buf, off)
    if (this.fsync === 'always') fdatasyncSync(this.fd)
    else this.dirty = true
  }

  close(): void {
    if (this.syncTimer) clearInterval(this.syncTimer)
    if (this.fd === undefined) return
    if (this.fsync !== 'never') this.sync()
    closeSync(this.fd)
    this.fd = undefined
  }

  private sync(): void {
    if (this.fd === undefined || !this.dirty) return
    this.dirty = false
    fdatasyncSync(this.fd)
  }
}
