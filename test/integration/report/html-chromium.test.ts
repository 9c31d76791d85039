import {existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {pathToFileURL} from 'node:url'
import {chromium, type BrowserContext, type Page} from 'playwright-core'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {renderHtmlReport, RUN_COLORS} from '../../../src/report/html/html-report.js'
import {ROOT} from '../../helpers/cli.js'
import {e2eResult, timeline} from '../../fixtures/report/bench-results.js'

/**
 * `iotd report html` as a person sees it: the report opened in headless Chromium, screenshots taken, and the
 * pixels of the plots counted. The screenshots are kept in .tmp/ for a human to look at.
 */

const CHROMIUM = process.env.IOTD_CHROMIUM ?? '/usr/bin/chromium'
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync']
const SHOTS = join(ROOT, '.tmp')

function describeChromium(name: string, fn: () => void): void {
  if (existsSync(CHROMIUM)) describe(name, fn)
  else if (process.env.CI === 'true') {
    describe(name, () => {
      it('needs Chromium', () => {
        throw new Error(`${CHROMIUM} is missing, and CI=true: install it (apt-get install -y chromium) so this suite runs`)
      })
    })
  } else {
    process.stderr.write(`NOTICE: skipping "${name}": ${CHROMIUM} was not found (apt-get install -y chromium to run it)\n`)
    describe.skip(name, fn)
  }
}

/*
 * The functions below run in the page. The project compiles without the DOM library (it is a Node CLI), so the
 * few browser APIs they use are described here rather than pulling DOM types into every file. (Casts only: a
 * helper function would not exist inside the page, where these callbacks are serialised to.)
 */
interface Box {
  x: number
  y: number
  width: number
  height: number
}
interface PageNode {
  getAttribute(name: string): string | null
  querySelector(selector: string): PageNode
  querySelectorAll(selector: string): Iterable<PageNode>
  getBBox(): Box
  getTotalLength(): number
}
interface PageCanvas {
  width: number
  height: number
  getContext(kind: '2d'): {drawImage(img: unknown, x: number, y: number): void; getImageData(x: number, y: number, w: number, h: number): {data: Uint8ClampedArray}}
}
interface PageGlobals {
  Image: new () => {src: string; width: number; height: number; decode(): Promise<void>}
  document: {createElement(tag: 'canvas'): PageCanvas}
}

/** Hex colour to [r, g, b]. */
function rgb(hex: string): [number, number, number] {
  return [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16)) as [number, number, number]
}

interface PixelCounts {
  total: number
  /** Neither white nor the light grey of the grid. */
  ink: number
  /** Per colour asked for: pixels within a small distance of it. */
  byColor: number[]
}

/** Decodes a PNG screenshot in a blank page (the report's own CSP forbids it) and counts its pixels. */
async function countPixels(analysis: Page, png: Buffer, colors: readonly string[]): Promise<PixelCounts> {
  return analysis.evaluate(
    async ({data, targets}) => {
      const {Image, document} = globalThis as unknown as PageGlobals
      const img = new Image()
      img.src = `data:image/png;base64,${data}`
      await img.decode()
      const canvas = document.createElement('canvas')
      canvas.width = img.width
      canvas.height = img.height
      const ctx = canvas.getContext('2d')
      ctx.drawImage(img, 0, 0)
      const px = ctx.getImageData(0, 0, img.width, img.height).data
      const byColor = targets.map(() => 0)
      let ink = 0
      for (let i = 0; i < px.length; i += 4) {
        const [r, g, b] = [px[i], px[i + 1], px[i + 2]]
        if (Math.min(r, g, b) < 215) ink++
        targets.forEach(([tr, tg, tb], k) => {
          if (Math.abs(r - tr) + Math.abs(g - tg) + Math.abs(b - tb) < 60) byColor[k]++
        })
      }
      return {total: px.length / 4, ink, byColor}
    },
    {data: png.toString('base64'), targets: colors.map(rgb)},
  )
}

describeChromium('iotd report html in Chromium', () => {
  const dir = mkdtempSync(join(tmpdir(), 'iotd-html-chromium-'))
  let context: BrowserContext
  let page: Page
  let analysis: Page
  const requests: string[] = []

  beforeAll(async () => {
    const stalled = e2eResult({timeline: timeline({seconds: 12, ratePerSec: 10_000, seed: 5, stallAt: 5, stallSeconds: 2})}, 2)
    const html = renderHtmlReport(
      [
        {label: 'mosquitto-qos1', result: e2eResult({}, 1)},
        {label: 'with-stall', result: {...stalled, rate: {...stalled.rate, achievedPerSec: 8_800}}},
      ],
      {generatedAt: new Date('2026-11-21T12:00:00Z')},
    )
    writeFileSync(join(dir, 'report.html'), html)
    mkdirSync(SHOTS, {recursive: true})
    context = await chromium.launchPersistentContext(join(dir, 'profile'), {executablePath: CHROMIUM, args: ARGS, viewport: {width: 1200, height: 900}})
    page = await context.newPage()
    page.on('request', (r) => requests.push(r.url()))
    await page.goto(pathToFileURL(join(dir, 'report.html')).href)
    analysis = await context.newPage()
  }, 60_000)

  afterAll(async () => {
    await context?.close()
    rmSync(dir, {recursive: true, force: true})
  })

  it('loads nothing but the file itself', () => {
    expect(requests).toHaveLength(1)
    expect(requests[0]).toMatch(/^file:.*report\.html$/)
  })

  it('draws the percentile plot with one curve per run and distribution, and a legend', async () => {
    const plot = page.locator('svg[data-chart="percentile"]')
    await expect(plot.locator('g.series').count()).resolves.toBe(4)
    const runs = await plot.locator('g.series').evaluateAll((gs) => gs.map((g) => `${(g as unknown as PageNode).getAttribute('data-run')}/${(g as unknown as PageNode).getAttribute('data-distribution')}`))
    expect(runs).toEqual(['mosquitto-qos1/latency', 'mosquitto-qos1/uncorrected', 'with-stall/latency', 'with-stall/uncorrected'])
    // Every curve is drawn at length, inside the plot area.
    const geometry = await plot.evaluate((svg) => {
      const area = (svg as unknown as PageNode).querySelector('.plot-area').getBBox()
      return [...(svg as unknown as PageNode).querySelectorAll('g.series path')].map((path) => {
        const box = path.getBBox()
        return {length: path.getTotalLength(), inside: box.x >= area.x - 1 && box.y >= area.y - 1 && box.x + box.width <= area.x + area.width + 1 && box.y + box.height <= area.y + area.height + 1, height: box.height, width: box.width, areaWidth: area.width}
      })
    })
    for (const g of geometry) {
      expect(g.inside).toBe(true)
      expect(g.length).toBeGreaterThan(500)
      // from 0% out past 99.99% of the axis, rising
      expect(g.width).toBeGreaterThan(0.6 * g.areaWidth)
      expect(g.height).toBeGreaterThan(100)
    }
    await expect(page.locator('#percentiles .legend li').count()).resolves.toBe(4)
  })

  it('draws the percentile plot on a logarithmic latency axis: its ticks a decade apart and evenly spaced', async () => {
    const ticks = await page.locator('svg[data-chart="percentile"]').evaluate((svg) =>
      [...(svg as unknown as PageNode).querySelectorAll('text.tick[text-anchor="end"]')].map((t) => ({label: (t as unknown as {textContent: string}).textContent, y: t.getBBox().y})),
    )
    const ms = ticks.map((t) => {
      const m = /^([\d.,]+)(µs|ms|s)$/.exec(t.label)
      if (!m) throw new Error(`tick label ${t.label}`)
      return Number(m[1].replace(/,/g, '')) * {µs: 0.001, ms: 1, s: 1000}[m[2] as 'µs' | 'ms' | 's']
    })
    expect(ms.length).toBeGreaterThanOrEqual(2)
    for (let k = 1; k < ms.length; k++) expect(ms[k] / ms[k - 1]).toBeCloseTo(10, 6)
    const gaps = ticks.slice(1).map((t, k) => ticks[k].y - t.y)
    for (const gap of gaps) expect(gap).toBeCloseTo(gaps[0], 0)
  })

  it('shows data in the screenshot of the percentile plot: both runs’ colours are there', async () => {
    const area = page.locator('svg[data-chart="percentile"] .plot-area')
    const shot = await area.screenshot({path: join(SHOTS, 'report-html-percentile.png')})
    await page.screenshot({path: join(SHOTS, 'report-html.png'), fullPage: true})
    const counts = await countPixels(analysis, shot, RUN_COLORS.slice(0, 2))
    expect(counts.total).toBeGreaterThan(100_000)
    // Lines, markers and dashes of two runs (where they overlap, the later one covers the earlier): an empty plot
    // has none of either colour.
    for (const n of counts.byColor) expect(n).toBeGreaterThan(500)
    expect(counts.ink).toBeGreaterThan(4000)
    expect(counts.ink).toBeLessThan(counts.total * 0.5)
  })

  it('draws the timelines: the stall shows as a dip in throughput and a spike in latency', async () => {
    const shot = await page.locator('svg[data-chart="throughput"] .plot-area').screenshot({path: join(SHOTS, 'report-html-throughput.png')})
    const counts = await countPixels(analysis, shot, RUN_COLORS.slice(0, 2))
    for (const n of counts.byColor) expect(n).toBeGreaterThan(200)
    const peaks = await page.locator('svg[data-chart="latency-timeline"]').evaluate((svg) => {
      const area = (svg as unknown as PageNode).querySelector('.plot-area').getBBox()
      return [...(svg as unknown as PageNode).querySelectorAll('g.series[data-figure="p99"] path')].map((path) => {
        const box = path.getBBox()
        // how far up the plot the line reaches, 0–1
        return (area.y + area.height - box.y) / area.height
      })
    })
    // The stalled run's p99 reaches the top of the scale; the steady one stays near the floor.
    expect(peaks[1]).toBeGreaterThan(0.8)
    expect(peaks[0]).toBeLessThan(0.05)
  })

  it('shows the summary table with a column per run', async () => {
    const headers = await page.locator('table.summary thead th').allInnerTexts()
    expect(headers.map((h) => h.trim())).toEqual(['', 'mosquitto-qos1', 'with-stall'])
    const achieved = await page.locator('table.summary tr', {hasText: 'achieved'}).locator('td').allInnerTexts()
    expect(achieved).toEqual(['9,995/s', '8,800/s'])
  })
})
