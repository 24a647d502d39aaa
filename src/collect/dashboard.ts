import type { ChainSeen, DecodedCertificate, Overview, RolloutEstimate } from './fleet.js';
import { decodeChain } from './fleet.js';
import { html, SafeHtml, urlPart } from './html.js';
import type { StoredReport } from './store.js';

/**
 * The dashboard's pages: server-rendered HTML and inline SVG charts, no script at all. The Content
 * Security Policy forbids every script, so even a rendering bug could not run a hostile report's
 * markup; escaping by construction (html.ts) keeps it from being markup in the first place.
 */
export const CONTENT_SECURITY_POLICY =
  "default-src 'none'; style-src 'self'; img-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

const PALETTE = ['#c0392b', '#2471a3', '#b7950b', '#7d3c98', '#148f77', '#a04000', '#566573', '#d35400'];

function page(title: string, body: SafeHtml): string {
  return html`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title} · wirelock collect</title><link rel="stylesheet" href="/dashboard.css"></head>
<body><header><a href="/" class="brand">wirelock collect</a><nav><a href="/">Overview</a> <a href="/api/reports">JSON</a> <a href="/api/reports.csv">CSV</a></nav></header>
<main>${body}</main></body></html>`.value;
}

/** Stacked bars per day, one colour per code: the "violations over time" chart. */
export function timeChart(view: Pick<Overview, 'days' | 'codes' | 'series'>): SafeHtml {
  const width = 720;
  const height = 200;
  const pad = 28;
  const totals = view.days.map((_, i) => view.codes.reduce((sum, code) => sum + (view.series[code]?.[i] ?? 0), 0));
  const max = Math.max(1, ...totals);
  const barWidth = (width - pad * 2) / Math.max(1, view.days.length);
  const bars: SafeHtml[] = [];
  view.days.forEach((day, i) => {
    let y = height - pad;
    view.codes.forEach((code, c) => {
      const value = view.series[code]?.[i] ?? 0;
      if (value === 0) return;
      const h = ((height - pad * 2) * value) / max;
      y -= h;
      bars.push(html`<rect x="${(pad + i * barWidth + 1).toFixed(1)}" y="${y.toFixed(1)}" width="${Math.max(1, barWidth - 2).toFixed(1)}" height="${h.toFixed(1)}" fill="${PALETTE[c % PALETTE.length]}"><title>${day} ${code}: ${value}</title></rect>`);
    });
  });
  const legend = view.codes.map((code, c) => html`<li><svg width="10" height="10" aria-hidden="true"><rect width="10" height="10" fill="${PALETTE[c % PALETTE.length]}"/></svg> ${code}</li>`);
  return html`<figure class="chart"><svg viewBox="0 0 ${width} ${height}" role="img" aria-label="reports per day by code">
<line x1="${pad}" y1="${height - pad}" x2="${width - pad}" y2="${height - pad}" stroke="#999"/>
<text x="${pad}" y="${pad - 8}" font-size="11">${max} / day</text>
<text x="${pad}" y="${height - 8}" font-size="11">${view.days[0] ?? ''}</text>
<text x="${width - pad}" y="${height - 8}" font-size="11" text-anchor="end">${view.days[view.days.length - 1] ?? ''}</text>
${bars}</svg><figcaption><ul class="legend">${legend}</ul></figcaption></figure>`;
}

export function overviewPage(view: Overview): string {
  const hostRows = view.hosts.map(
    (host) => html`<tr><td><a href="/hosts/${urlPart(host.host)}">${host.host}</a></td><td class="num">${host.reports}</td>
<td>${Object.entries(host.codes).map(([code, n]) => html`<span class="code">${code}</span> ${n} `)}</td><td>${host.lastDay}</td></tr>`,
  );
  const versionRows = view.appVersions.map(
    (v) => html`<tr><td>${v.appId || '(none)'}</td><td>${v.appVersion || '(none)'}</td><td class="num">${v.reports}</td><td class="num">${v.hosts}</td></tr>`,
  );
  return page(
    'Overview',
    html`<h1>Violations, last ${view.days.length} days</h1><p>${view.total} reports.</p>${timeChart(view)}
<h2>By host</h2><table><thead><tr><th>host</th><th>reports</th><th>codes</th><th>last seen</th></tr></thead><tbody>${hostRows}</tbody></table>
<h2>By app version</h2><table><thead><tr><th>app</th><th>version</th><th>reports</th><th>hosts</th></tr></thead><tbody>${versionRows}</tbody></table>`,
  );
}

function certificateRows(certs: Array<DecodedCertificate | { error: string }>): SafeHtml {
  return html`<ol class="chain">${certs.map((cert) =>
    'error' in cert
      ? html`<li class="bad">${cert.error}</li>`
      : html`<li><div><b>${cert.subject}</b></div><div>issuer ${cert.issuer}</div><div>valid ${cert.validFrom} → ${cert.validTo}</div>
<div><code>${cert.pin}</code> ${cert.pinned === null ? '' : cert.pinned ? html`<span class="ok">pinned</span>` : html`<span class="warn">not pinned</span>`}</div></li>`,
  )}</ol>`;
}

export function hostPage(host: string, view: Overview, chains: ChainSeen[], estimate: RolloutEstimate, pins: string[] | null, recent: StoredReport[]): string {
  const share = estimate.share === null ? 'no client reported in the window' : `${(estimate.share * 100).toFixed(1)}% (${estimate.wouldBeRefused} of ${estimate.clients} clients)`;
  return page(
    host,
    html`<h1>${host}</h1>${timeChart(view)}
<section class="rollout"><h2>If this host switched to enforce now</h2><p class="big">${share} would be refused</p>
<p>Counted over the clients that reported for this host in the last ${estimate.windowDays} days (each client's latest report),
${estimate.basis === 'policy-pins' ? 'judged against the pins of the policy the collector was given.' : 'judged by the codes the clients reported (start the collector with --policy to judge the chains against the pins).'}</p>
<table><thead><tr><th>app version</th><th>clients</th><th>would be refused</th></tr></thead><tbody>${estimate.byAppVersion.map(
      (v) => html`<tr><td>${v.appVersion || '(none)'}</td><td class="num">${v.clients}</td><td class="num">${v.wouldBeRefused}</td></tr>`,
    )}</tbody></table></section>
<h2>Policy pins</h2>${pins === null ? html`<p>No policy given (--policy).</p>` : pins.length === 0 ? html`<p>The policy pins nothing for this host.</p>` : html`<ul>${pins.map((pin) => html`<li><code>${pin}</code></li>`)}</ul>`}
<h2>Chains seen in the wild</h2>${chains.map(
      (chain) => html`<article class="seen"><h3>${chain.reports} reports, last ${chain.lastDay} ${chain.passesPins === null ? '' : chain.passesPins ? html`<span class="ok">passes the pins</span>` : html`<span class="warn">no pinned key</span>`}</h3>${certificateRows(chain.certificates)}</article>`,
    )}
<h2>Recent reports</h2>${reportTable(recent)}`,
  );
}

function reportTable(reports: StoredReport[]): SafeHtml {
  return html`<table><thead><tr><th>received</th><th>code</th><th>mode</th><th>app</th><th>version</th><th>host</th></tr></thead><tbody>${reports.map(
    (r) => html`<tr><td><a href="/reports/${r.id}">${r.receivedAt}</a></td><td class="code">${r.code}</td><td>${r.mode ?? ''}</td><td>${r.appId}</td><td>${r.appVersion}</td><td>${r.host}</td></tr>`,
  )}</tbody></table>`;
}

export function reportPage(report: StoredReport, policyPins: Set<string> | null): string {
  return page(
    `report ${report.id}`,
    html`<h1>Report ${report.id}</h1><dl>
<dt>host</dt><dd><a href="/hosts/${urlPart(report.host)}">${report.host}</a>:${report.port ?? ''}</dd>
<dt>code</dt><dd class="code">${report.code}</dd><dt>kind</dt><dd>${report.kind}</dd><dt>mode</dt><dd>${report.mode ?? ''}</dd>
<dt>blocked</dt><dd>${report.blocked === null ? '' : String(report.blocked)}</dd>
<dt>app</dt><dd>${report.appId} ${report.appVersion} (${report.appPlatform})</dd><dt>format</dt><dd>${report.format}</dd>
<dt>received</dt><dd>${report.receivedAt}</dd><dt>reported</dt><dd>${report.reportedAt ?? ''}</dd>
<dt>message</dt><dd><pre>${report.message}</pre></dd><dt>known pins</dt><dd>${report.knownPins.map((pin) => html`<code>${pin}</code> `)}</dd></dl>
<h2>Validated chain</h2>${certificateRows(decodeChain(report.validatedChain, policyPins))}
<h2>Served chain</h2>${certificateRows(decodeChain(report.servedChain, policyPins))}
${report.details === null ? '' : html`<h2>Details</h2><pre>${JSON.stringify(report.details, null, 2)}</pre>`}`,
  );
}

export function messagePage(title: string, text: string): string {
  return page(title, html`<h1>${title}</h1><p>${text}</p>`);
}

export const STYLESHEET = `
body{font:14px/1.45 system-ui,sans-serif;margin:0;color:#1b1f23;background:#fafafa}
header{display:flex;gap:2em;align-items:center;padding:.6em 1.5em;background:#1b2631;color:#fff}
header a{color:#fff;text-decoration:none;margin-right:1em}.brand{font-weight:700}
main{padding:1em 1.5em;max-width:1100px}
table{border-collapse:collapse;margin:.5em 0 1.5em;background:#fff}
th,td{border:1px solid #ddd;padding:.3em .6em;text-align:left;vertical-align:top}
td.num{text-align:right}.code{font-family:ui-monospace,monospace}
.chart svg{width:100%;max-width:720px;height:auto;background:#fff;border:1px solid #ddd}
.legend{list-style:none;padding:0;display:flex;gap:1em;flex-wrap:wrap}
.ok{color:#1e8449;font-weight:600}.warn,.bad{color:#c0392b;font-weight:600}
.big{font-size:1.6em;font-weight:700}.chain li{margin-bottom:.5em}
pre{white-space:pre-wrap;word-break:break-all;background:#fff;border:1px solid #ddd;padding:.5em}
code{word-break:break-all}
`;
