/** The console's chart: deliveries per hour as an inline SVG, drawn on the server (no script, no asset). */
import { html, type Html } from './html.js'

const WIDTH = 720
const HEIGHT = 160
const TOP = 16
const BOTTOM = 24
const LEFT = 36

export interface ChartOptions {
  /** Label under an hour's bar (e.g. its hour in the operator's time zone), every few bars. */
  label: (hourMs: number) => string
  /** The bar's tooltip. */
  title: (hourMs: number, count: number) => string
}

export function hourlyChart (hours: ReadonlyArray<{ hour: string, count: number }>, opts: ChartOptions): Html {
  const max = Math.max(1, ...hours.map((h) => h.count))
  const plot = HEIGHT - TOP - BOTTOM
  const step = (WIDTH - LEFT) / Math.max(1, hours.length)
  const bars = hours.map((h, i) => {
    const at = Date.parse(h.hour)
    const height = Math.round((h.count / max) * plot * 10) / 10
    const x = Math.round((LEFT + i * step + 1) * 10) / 10
    const label = i % 6 === 0 ? html`<text class="axis" x="${x}" y="${HEIGHT - 6}">${opts.label(at)}</text>` : ''
    return html`<rect class="bar" data-count="${h.count}" x="${x}" y="${TOP + plot - height}" width="${Math.max(1, Math.round((step - 2) * 10) / 10)}" height="${height}"><title>${opts.title(at, h.count)}</title></rect>${label}`
  })
  return html`<svg class="chart" viewBox="0 0 ${WIDTH} ${HEIGHT}" role="img" aria-labelledby="chart-title" xmlns="http://www.w3.org/2000/svg">
<title id="chart-title">Entregas por hora nas últimas ${hours.length} horas</title>
<line class="base" x1="${LEFT}" y1="${TOP + plot}" x2="${WIDTH}" y2="${TOP + plot}"/>
<text class="axis" x="0" y="${TOP + 4}">${max}</text><text class="axis" x="0" y="${TOP + plot}">0</text>
${bars}
</svg>`
}
