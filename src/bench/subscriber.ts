import type {Socket} from 'node:net'
import {recordMicros, type LatencyHistogram} from '../metrics/histogram.js'
import {benchNowMicros, PublisherSequences, readHeaderInto, type LatencyHeader} from './latency-header.js'
import {PACKET_TYPE, PublishReader} from '../net/publish-reader.js'
import type {MqttProtocolVersion, QoS} from '../net/mqtt-wire.js'
import {PubackWriter, subscribeRaw} from '../net/raw-mqtt-connection.js'
import {runSecondOf, type SecondCounts} from './second-counts.js'

/**
 * One subscribing connection of a bench run. Every PUBLISH is read in place (PublishReader), its latency header
 * decoded without allocation, and:
 * - latency is recorded from the header's intended send time (the corrected figure) and from its actual send time
 *   (uncorrected), both against one clock reading per socket chunk;
 * - the (publisher, sequence) pair is classified by a per-publisher SequenceTracker: new, duplicate, out of order.
 *
 * Only messages whose intended time falls in the measured window are counted, so warm-up traffic that arrives
 * late does not count as loss or latency. Messages without a bench header (someone else's traffic on the same
 * topics) are counted apart and otherwise ignored. In a sharded run a subscriber counts every shard's publishers,
 * as a subscriber of one whole run would: its shard cannot know what the others sent, so loss is known only once
 * the shards are merged (report/bench-merge.ts).
 *
 * QoS 1 deliveries are acknowledged in one batched write per chunk (PubackWriter); QoS 2 deliveries get PUBREC,
 * and the broker's PUBREL a PUBCOMP.
 */

export interface SubscriberCounters {
  /** Deliveries of measured messages, duplicates included. */
  received: number
  /** Distinct measured messages (each (publisher, sequence) once). */
  distinct: number
  duplicates: number
  reordered: number
  /** Deliveries without an iotd bench header, or from publishers outside this run or shard. */
  foreign: number
  errors: number
}

export interface SubscriberOptions {
  id: number
  filter: string
  qos: QoS
  protocolVersion: MqttProtocolVersion
  /** Start of the measured window (bench µs); see measureFrom(). */
  measureFromUs: number
  /** Subscribe-only: a stream already running, so sequence numbers count from the first seen. */
  joinRunningStream: boolean
  /**
   * Deliveries counted in the run second of their arrival (the timeline's rows): the measured ones, and warm-up
   * ones that arrive during the warm-up (for the live view), so the rows from second 0 on add up to `received`.
   */
  receivedBySecond: SecondCounts
  histograms: () => {latency: LatencyHistogram; uncorrected: LatencyHistogram}
  onError: (message: string) => void
  /** The broker connection was lost (not closed by the run): the caller reconnects and calls resubscribe(). */
  onDisconnect?: (subscriber: BenchSubscriber) => void
}

export class BenchSubscriber {
  readonly counters: SubscriberCounters = {received: 0, distinct: 0, duplicates: 0, reordered: 0, foreign: 0, errors: 0}
  readonly sequences: PublisherSequences
  /** Bench-clock µs of the last measured delivery (0 before the first): where the receiving window ends. */
  lastArrivalUs = 0
  /** Bench-clock µs of the first measured delivery (0 before it): where another's load began, in subscribe-only. */
  firstArrivalUs = 0
  private reader: PublishReader
  private readonly header: LatencyHeader = {publisher: 0, seq: 0, intendedUs: 0, sentUs: 0}
  private pubacks: PubackWriter
  private closed = false
  private measureFromUs: number

  constructor(
    public socket: Socket,
    private readonly o: SubscriberOptions,
  ) {
    this.reader = new PublishReader(o.protocolVersion)
    this.sequences = new PublisherSequences(o.joinRunningStream ? {start: 'first-seen'} : undefined)
    this.pubacks = new PubackWriter(socket)
    this.measureFromUs = o.measureFromUs
  }

  /** Sets the start of the measured window (bench µs), once the run's start time is known. */
  measureFrom(us: number): void {
    this.measureFromUs = us
  }

  get id(): number {
    return this.o.id
  }

  /** After a lost connection: subscribes again on `socket`, keeping the counts and the publishers' sequences. */
  async resubscribe(socket: Socket): Promise<void> {
    if (this.closed) {
      socket.destroy()
      return
    }
    this.socket = socket
    this.reader = new PublishReader(this.o.protocolVersion)
    this.pubacks = new PubackWriter(socket)
    await this.start()
  }

  /** Subscribes and starts reading; resolves once the SUBACK granted the filter. */
  async start(): Promise<void> {
    const socket = this.socket
    let nowUs = benchNowMicros()
    const onPublish = (buf: Buffer, payloadOffset: number, payloadLength: number, qos: QoS, packetId: number): void => {
      if (qos === 1) this.pubacks.add(packetId)
      else if (qos === 2) this.writeAck(0x50, packetId)
      const h = this.header
      if (payloadLength < 32 || !readHeaderInto(buf, payloadOffset, h)) {
        this.counters.foreign++
        return
      }
      const arrival = this.sequences.record(h.publisher, h.seq)
      const arrivalSecond = runSecondOf(nowUs, this.measureFromUs)
      if (h.intendedUs < this.measureFromUs) {
        // Before the run's start is known (measureFromUs still Infinity) there is no second to count it in.
        if (arrivalSecond < 0 && Number.isFinite(arrivalSecond)) this.o.receivedBySecond.add(arrivalSecond)
        return
      }
      this.o.receivedBySecond.add(Math.max(0, arrivalSecond))
      this.counters.received++
      this.lastArrivalUs = nowUs
      if (this.firstArrivalUs === 0) this.firstArrivalUs = nowUs
      if (arrival === 'duplicate' || arrival === 'stale') {
        this.counters.duplicates++
        return
      }
      this.counters.distinct++
      if (arrival === 'out-of-order') this.counters.reordered++
      const hist = this.o.histograms()
      recordMicros(hist.latency, nowUs - h.intendedUs)
      recordMicros(hist.uncorrected, nowUs - h.sentUs)
    }
    const onOther = (type: number, _flags: number, body: Buffer): void => {
      // PUBREL of a QoS 2 delivery: complete it. PINGRESP is expected with keepalive on.
      if (type === PACKET_TYPE.pubrel) this.writeAck(0x70, body.readUInt16BE(0))
      else if (type !== PACKET_TYPE.pingresp) this.fail(`subscriber ${this.o.id}: unexpected packet type ${type} from the broker`)
    }
    await subscribeRaw(socket, this.reader, [{topic: this.o.filter, qos: this.o.qos}], this.o.protocolVersion, onPublish, {onOther})
    socket.on('data', (chunk: Buffer) => {
      nowUs = benchNowMicros()
      try {
        this.reader.push(chunk, onPublish, onOther)
      } catch (err) {
        this.fail(`subscriber ${this.o.id}: ${(err as Error).message}`)
        socket.destroy()
      }
      this.pubacks.flush()
    })
    let why: string | undefined
    socket.on('error', (err) => (why = err.message))
    socket.on('close', () => {
      if (this.closed || socket !== this.socket) return
      this.fail(`subscriber ${this.o.id}: lost the broker connection (${why ?? 'the broker closed the connection'}); what is published until it subscribes again is lost to it`)
      if (!this.o.onDisconnect) {
        this.closed = true
        return
      }
      this.o.onDisconnect(this)
    })
    socket.resume()
  }

  private writeAck(firstByte: number, packetId: number): void {
    this.socket.write(Buffer.from([firstByte, 0x02, packetId >> 8, packetId & 0xff]))
  }

  /** Holes never filled in the publishers' sequences seen so far (what is missing before the last arrival). */
  holes(): number {
    return this.sequences.totals().lost
  }

  private fail(message: string): void {
    this.counters.errors++
    this.o.onError(message)
  }

  close(): void {
    this.closed = true
    this.socket.destroy()
  }
}
