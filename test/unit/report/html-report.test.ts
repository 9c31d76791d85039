import {describe, expect, it} from 'vitest'
import {escapeHtml, shellQuote} from '../../../src/report/html/escape.js'
import {renderHtmlReport} from '../../../src/report/html/html-report.js'
import {percentileCurve, percentileTickLabel, percentileToX} from '../../../src/report/html/percentile-series.js'
import {niceTicks, renderLineChart} from '../../../src/report/html/svg-chart.js'
import {createHistogram, recordMicros} from '../../../src/metrics/histogram.js'
import {e2eResult, histogramOfMicros, latencySamples, T0} from '../../fixtures/report/bench-results.js'

const GENERATED = new Date('2026-11-21T12:00:00Z')

/** The markup of one chart, by its data-chart id. */
function chart(html: string, id: string): string {
  const m = new RegExp(`<svg class="chart" data-chart="${id}"[\\s\\S]*?</svg>`).exec(html)
  if (!m) throw new Error(`no chart ${id}`)
  return m[0]
}

function seriesOf(svg: string): Array<Record<string, string>> {
  return [...svg.matchAll(/<g class="series"([^>]*)>/g)].map((m) => Object.fromEntries([...m[1].matchAll(/data-([\w-]+)="([^"]*)"/g)].map((a) => [a[1], a[2]])))
}

describe('escaping', () => {
  it('escapes the five HTML specials', () => {
    expect(escapeHtml(`<a href="x">'&'</a>`)).toBe('&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;')
  })

  it('quotes arguments a shell would split', () => {
    expect(shellQuote(['bench', '--topic', 'bench/{i}', '--threshold', "p(99)<20ms", "it's"])).toBe(`bench --topic 'bench/{i}' --threshold 'p(99)<20ms' 'it'\\''s'`)
  })

  it('never lets text from a result become markup', () => {
    const evil = e2eResult({
      meta: {...e2eResult().meta, commandLine: ['bench', '--topic', '</script><script>alert(1)</script>', '--password', 'hunter2'], brokers: ['mqtt://u:hunter2@h"x<y>:1883']},
      thresholds: [{threshold: 'p(99)<20ms<img src=x onerror=alert(2)>', ok: false, observed: 1, observedText: '<b>1</b>', limitText: '20ms'}],
    })
    const html = renderHtmlReport([{label: '<i>run</i>', result: evil}], {generatedAt: GENERATED})
    expect(html).not.toMatch(/<script|<img|<i>|<b>1/i)
    expect(html).toContain('&lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt;')
    expect(html).toContain('&lt;i&gt;run&lt;/i&gt;')
    expect(html).toContain('&lt;img src=x onerror=alert(2)&gt;')
    expect(html).not.toContain('hunter2')
  })
})

describe('renderHtmlReport', () => {
  const a = e2eResult({}, 1)
  const b = e2eResult({rate: {...e2eResult().rate, achievedPerSec: 9000}}, 2)
  const html = renderHtmlReport(
    [
      {label: 'base', result: a},
      {label: 'candidate', result: b},
    ],
    {generatedAt: GENERATED},
  )

  it('is one self-contained document: no scripts, no external references', () => {
    expect(html.startsWith('<!DOCTYPE html>')).toBe(true)
    expect(html).not.toMatch(/<script|<link|<img|<iframe|@import|\s(src|href)=/i)
    // The only URL is the SVG namespace, which is a name, not a fetch.
    const urls = [...html.matchAll(/https?:\/\/[^\s"'<)]+/g)].map((m) => m[0])
    expect(new Set(urls)).toEqual(new Set(['http://www.w3.org/2000/svg']))
    expect(html).toContain(`default-src 'none'`)
  })

  it('overlays every run in the percentile plot: corrected solid, uncorrected dashed, with a legend', () => {
    const svg = chart(html, 'percentile')
    const series = seriesOf(svg)
    expect(series.map((s) => `${s.run}/${s.distribution}`)).toEqual(['base/latency', 'base/uncorrected', 'candidate/latency', 'candidate/uncorrected'])
    for (const s of series) expect(Number(s.points)).toBeGreaterThan(100)
    expect((svg.match(/stroke-dasharray/g) ?? []).length).toBe(2)
    // x axis labelled in nines, up to the resolution of 20,000 samples
    const ticks = [...svg.matchAll(/<text class="tick"[^>]*text-anchor="middle">([^<]+)<\/text>/g)].map((m) => m[1])
    expect(ticks).toEqual(['0%', '90%', '99%', '99.9%', '99.99%', '99.999%'])
    // markers at p50 ... p99.99 and max on each solid curve
    expect((svg.match(/<circle class="marker"/g) ?? []).length).toBe(12)
    expect(svg).toContain(`<title>base: p99 ${'12.2ms'}</title>`)
    const legend = /<\/svg><ul class="legend">([\s\S]*?)<\/ul>/.exec(html.slice(html.indexOf('data-chart="percentile"')))![1]
    expect((legend.match(/<li>/g) ?? []).length).toBe(4)
    expect(legend).toContain('candidate: latency (uncorrected)')
  })

  it('draws every line inside its plot area', () => {
    for (const id of ['percentile', 'throughput', 'latency-timeline']) {
      const svg = chart(html, id)
      const [, x, y, w, h] = /<rect class="plot-area" x="([\d.]+)" y="([\d.]+)" width="([\d.]+)" height="([\d.]+)"/.exec(svg)!.map(Number)
      for (const path of svg.matchAll(/<path d="([^"]+)"/g)) {
        for (const [, px, py] of path[1].matchAll(/[ML]([\d.]+) ([\d.]+)/g)) {
          expect(Number(px)).toBeGreaterThanOrEqual(x - 0.1)
          expect(Number(px)).toBeLessThanOrEqual(x + w + 0.1)
          expect(Number(py)).toBeGreaterThanOrEqual(y - 0.1)
          expect(Number(py)).toBeLessThanOrEqual(y + h + 0.1)
        }
      }
    }
  })

  it('plots sent and received per second, and p50/p99 per second, for each run', () => {
    expect(seriesOf(chart(html, 'throughput')).map((s) => `${s.run}/${s.figure}/${s.points}`)).toEqual([
      'base/sent/10',
      'base/received/10',
      'candidate/sent/10',
      'candidate/received/10',
    ])
    expect(seriesOf(chart(html, 'latency-timeline')).map((s) => `${s.run}/${s.figure}`)).toEqual(['base/p99', 'base/p50', 'candidate/p99', 'candidate/p50'])
  })

  it('has a summary table with one column per run', () => {
    const table = /<table class="summary">[\s\S]*<\/table>/.exec(html)![0]
    const header = /<thead>([\s\S]*?)<\/thead>/.exec(table)![1]
    expect([...header.matchAll(/<th>(?:<span[^>]*><\/span>)?([^<]*)<\/th>/g)].map((m) => m[1])).toEqual(['', 'base', 'candidate'])
    const row = (label: string) => {
      const m = new RegExp(`<tr><th scope="row">${label}</th>(.*?)</tr>`).exec(table)
      if (!m) throw new Error(`no row ${label}`)
      return [...m[1].matchAll(/<td[^>]*>(.*?)<\/td>/g)].map((c) => c[1])
    }
    expect(row('achieved')).toEqual(['9,995/s', '9,000/s'])
    expect(row('p99')[0]).toBe('12.2ms')
    expect(row('lost')).toEqual(['0', '0'])
    // quoted as a shell would need it (the mask is a glob), then escaped
    expect(row('command line')[0]).toBe('iotd bench --broker &#39;mqtt://user:***@127.0.0.1:1883&#39; --rate 10000/s --qos 1')
  })

  it('plots the ack distribution alone for a publish-only run, and says when there is no timeline', () => {
    const pub = e2eResult({
      meta: {...a.meta, mode: 'pub'},
      histograms: {ack: a.histograms.ack},
      timeline: [],
    })
    const out = renderHtmlReport([{label: 'pub', result: pub}], {generatedAt: GENERATED})
    expect(seriesOf(chart(out, 'percentile')).map((s) => s.distribution)).toEqual(['ack'])
    expect(out).toContain('No timeline was recorded.')
    expect(out).toContain('<title>iotd bench: pub</title>')
  })

  it('says so when nothing was recorded', () => {
    const empty = e2eResult({histograms: {}, timeline: []})
    const out = renderHtmlReport([{label: 'x', result: empty}], {generatedAt: GENERATED})
    expect(out).toContain('No latency was recorded.')
    expect(out).not.toContain('data-chart="percentile"')
  })

  it('breaks a timeline line where a second has no samples', () => {
    const gappy = e2eResult({
      timeline: [0, 1, 2, 3].map((s) => ({t: T0 + s * 1000, sentPerSec: 100, receivedPerSec: 100, p50: s === 1 ? null : 1, p99: s === 1 ? null : 2})),
    })
    const svg = chart(renderHtmlReport([{label: 'g', result: gappy}], {generatedAt: GENERATED}), 'latency-timeline')
    const p99 = /<g class="series"[^>]*data-figure="p99"[^>]*>.*?<path d="([^"]+)"/.exec(svg)![1]
    // an isolated point (second 0) is a dot, then a new line from second 2
    expect(p99).toMatch(/^M[\d.]+ [\d.]+h0M[\d.]+ [\d.]+L[\d.]+ [\d.]+$/)
  })
})

describe('percentile curve', () => {
  it('follows the histogram: x = log10(1/(1-p)), ending at the exact max', () => {
    const samples = latencySamples(10_000, 9)
    const encoded = histogramOfMicros(samples)
    const curve = percentileCurve(encoded)
    const h = createHistogram()
    for (const v of samples) recordMicros(h, v)
    const at = (x: number) => curve.find((p) => Math.abs(p.x - x) < 1e-9)!.ms
    expect(at(0)).toBe(h.getValueAtPercentile(0) / 1000)
    expect(at(1)).toBe(h.getValueAtPercentile(90) / 1000)
    expect(at(2)).toBe(encoded.summary.p99)
    expect(curve.at(-1)).toEqual({x: 4, ms: encoded.summary.max})
    for (let i = 1; i < curve.length; i++) expect(curve[i].ms).toBeGreaterThanOrEqual(curve[i - 1].ms)
    h.destroy()
  })

  it('labels the axis in nines and maps percentiles onto it', () => {
    expect([0, 1, 2, 3, 4, 6].map(percentileTickLabel)).toEqual(['0%', '90%', '99%', '99.9%', '99.99%', '99.9999%'])
    expect(percentileToX(99.9)).toBeCloseTo(3, 9)
    expect(percentileToX(50)).toBeCloseTo(Math.log10(2), 9)
  })
})

describe('svg chart', () => {
  it('picks round ticks that cover the range', () => {
    expect(niceTicks(0, 48.2)).toEqual([0, 10, 20, 30, 40, 50])
    expect(niceTicks(0, 10_040)).toEqual([0, 2000, 4000, 6000, 8000, 10_000, 12_000])
    expect(niceTicks(0, 0)).toEqual([0, 0.2, 0.4, 0.6, 0.8, 1])
  })

  it('maps values into the plot area, y upwards', () => {
    const svg = renderLineChart({
      id: 't',
      title: 't',
      width: 200,
      height: 168,
      x: {min: 0, max: 10, ticks: [], title: 'x'},
      y: {min: 0, max: 100, ticks: [], title: 'y'},
      series: [{label: 's', color: '#000', points: [[0, 0], [10, 100]]}],
    })
    // plot area: x 88..160, y 16..116
    expect(svg).toContain('<path d="M88.0 116.0L160.0 16.0"')
  })
})
