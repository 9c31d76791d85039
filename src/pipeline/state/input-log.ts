/**
 * The input log: every message of a source that cannot be read again (MQTT, Modbus, stdin, …) is appended here
 * before it is acknowledged, so a restart replays it on top of the last checkpoint instead of losing it.
 *
 * - Group commit: one frame per source batch (one write(2); with `fsync: always` one fdatasync), then the whole
 *   batch is acknowledged. An MQTT source at inflight 20 commits about once per 20 messages.
 * - Durability: as for every AppendFile (append-file.ts): a written frame survives a killed process whatever the
 *   fsync policy; `fsync` (default `everysec`) decides what a machine crash or power cut can take.
 * - Segments: `input-<n>.log`. A checkpoint starts a new segment; once the checkpoint is committed, segments before
 *   it are deleted. A frame is `[length u32][crc32 u32][v8-serialized {source, records}]`; reading stops at the
 *   first frame that is cut short or fails its checksum (the tail a crash can leave).
 */
import {readdirSync, readFileSync, rmSync} from 'node:fs'
import {join} from 'node:path'
import {deserialize, serialize} from 'node:v8'
import {crc32} from 'node:zlib'
import type {PipelineRecord} from '../types.js'
import {AppendFile, type FsyncPolicy} from './append-file.js'

export type {FsyncPolicy}

export interface LoggedBatch {
  source: string
  records: PipelineRecord[]
}

const SEGMENT = /^input-(\d{8})\.log$/

export function segmentPath(dir: string, n: number): string {
  return join(dir, `input-${String(n).padStart(8, '0')}.log`)
}

/** Segment numbers present in `dir`, ascending. */
export function listSegments(dir: string): number[] {
  let names: string[]
  try {
    names = readdirSync(dir)
  } catch {
    return []
  }
  return names
    .map((n) => SEGMENT.exec(n))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => Number(m[1]))
    .sort((a, b) => a - b)
}

export class InputLog {
  private file: AppendFile | undefined
  /** Frames and bytes written by this process. */
  frames = 0
  bytes = 0
  segment: number

  constructor(
    private readonly dir: string,
    private readonly fsync: FsyncPolicy,
    firstSegment: number,
  ) {
    this.segment = firstSegment
    this.file = new AppendFile(segmentPath(dir, firstSegment), fsync)
  }

  /** Appends one batch of one source; when it returns, the batch survives a killed process (and with `always`, a crash). */
  append(source: string, records: readonly PipelineRecord[]): void {
    if (this.file === undefined) throw new Error('the input log is closed')
    const body = serialize({source, records})
    const frame = Buffer.allocUnsafe(8 + body.length)
    frame.writeUInt32LE(body.length, 0)
    frame.writeUInt32LE(crc32(body), 4)
    body.copy(frame, 8)
    this.file.append(frame)
    this.frames++
    this.bytes += frame.length
  }

  /** Closes the current segment and opens the next; returns the new segment's number. */
  rotate(): number {
    this.file?.close()
    this.segment++
    this.file = new AppendFile(segmentPath(this.dir, this.segment), this.fsync)
    return this.segment
  }

  /** Deletes the segments before `segment` (a committed checkpoint covers them). */
  deleteBefore(segment: number): void {
    for (const n of listSegments(this.dir)) if (n < segment) rmSync(segmentPath(this.dir, n), {force: true})
  }

  close(): void {
    this.file?.close()
    this.file = undefined
  }
}

/** Every whole frame of the segments from `fromSegment` on, in order; `torn` counts frames cut short by a crash. */
export function* readLog(dir: string, fromSegment: number, stats?: {torn: number}): Generator<LoggedBatch> {
  for (const n of listSegments(dir)) {
    if (n < fromSegment) continue
    const buf = readFileSync(segmentPath(dir, n))
    let off = 0
    while (off + 8 <= buf.length) {
      const len = buf.readUInt32LE(off)
      const sum = buf.readUInt32LE(off + 4)
      if (off + 8 + len > buf.length) break
      const body = buf.subarray(off + 8, off + 8 + len)
      if (crc32(body) !== sum) break
      off += 8 + len
      yield deserialize(body) as LoggedBatch
    }
    if (off < buf.length && stats) stats.torn++
  }
}
