/** The console's stylesheet, script and icon: served by the service itself, so a strict CSP allows them. */

export const CSS = `
:root { color-scheme: light; --ok: #17723a; --warning: #9a5b00; --problem: #b3261e; --muted: #5f6368; --line: #dadce0; }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans", "Liberation Sans", sans-serif; color: #202124; background: #f6f7f9; }
header, main, footer { max-width: 1100px; margin: 0 auto; padding: 0 16px; }
header { display: flex; justify-content: space-between; align-items: baseline; flex-wrap: wrap; gap: 8px; padding-top: 16px; }
h1 { font-size: 20px; margin: 0; }
h2 { font-size: 17px; margin: 0 0 8px; }
h3 { font-size: 15px; margin: 12px 0 6px; }
section { background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: 14px 16px; margin: 14px 0; }
.muted, .axis { color: var(--muted); fill: var(--muted); font-size: 12px; }
.verdict { border-left: 6px solid var(--muted); }
.verdict.ok { border-left-color: var(--ok); }
.verdict.warning { border-left-color: var(--warning); }
.verdict.problem { border-left-color: var(--problem); }
.verdict h2 { font-size: 19px; }
.verdict.ok h2 { color: var(--ok); }
.verdict.warning h2 { color: var(--warning); }
.verdict.problem h2 { color: var(--problem); }
.reasons { margin: 0; padding-left: 18px; }
.reasons li { margin: 6px 0; }
.tag { display: inline-block; min-width: 64px; font-size: 12px; font-weight: 600; text-transform: uppercase; }
.tag.problem { color: var(--problem); } .tag.warning { color: var(--warning); } .tag.info { color: var(--muted); }
.next { display: block; color: var(--muted); }
.grid { display: grid; grid-template-columns: repeat(auto-fit, minmax(150px, 1fr)); gap: 10px; margin: 8px 0; }
.figure { border: 1px solid var(--line); border-radius: 6px; padding: 8px 10px; }
.figure .n { display: block; font-size: 22px; font-weight: 600; }
.figure .l { font-size: 12px; color: var(--muted); }
table { border-collapse: collapse; width: 100%; font-size: 14px; }
th, td { text-align: left; padding: 4px 8px 4px 0; border-bottom: 1px solid var(--line); vertical-align: top; }
th { font-weight: 600; color: var(--muted); font-size: 12px; }
td.num, th.num { text-align: right; }
code { font: 13px/1.4 ui-monospace, "SFMono-Regular", "DejaVu Sans Mono", monospace; background: #f1f3f4; padding: 1px 4px; border-radius: 4px; }
code.cmd { user-select: all; white-space: nowrap; }
button.copy { margin-left: 6px; font-size: 12px; padding: 1px 6px; cursor: pointer; }
.chart { width: 100%; height: auto; max-height: 200px; }
.chart .bar { fill: #1a73e8; }
.chart .base { stroke: var(--line); }
.feed { border-top: 1px solid var(--line); padding-top: 8px; margin-top: 12px; }
footer { padding-bottom: 24px; }
`

/**
 * Refreshes the page in place every 30 s (not while hidden or while text is selected, so copying
 * a command is never interrupted), and adds a copy button beside each command.
 */
export const JS = `'use strict';
(function () {
  var EVERY_MS = 30000;
  function addCopyButtons (root) {
    if (!navigator.clipboard) return;
    root.querySelectorAll('code.cmd').forEach(function (code) {
      var button = document.createElement('button');
      button.type = 'button';
      button.className = 'copy';
      button.textContent = 'Copiar';
      button.addEventListener('click', function () {
        navigator.clipboard.writeText(code.textContent).then(function () { button.textContent = 'Copiado'; });
      });
      code.after(button);
    });
  }
  function refresh () {
    var selection = document.getSelection();
    if (document.hidden || (selection && selection.toString() !== '')) return;
    fetch(location.pathname, { cache: 'no-store', credentials: 'same-origin' }).then(function (res) {
      if (!res.ok) throw new Error(String(res.status));
      return res.text();
    }).then(function (text) {
      var fresh = new DOMParser().parseFromString(text, 'text/html');
      var main = fresh.querySelector('main');
      if (main === null) throw new Error('no main');
      document.querySelector('main').replaceWith(document.adoptNode(main));
      addCopyButtons(document.querySelector('main'));
      document.getElementById('refresh').textContent = 'Atualizada automaticamente a cada 30 s.';
    }).catch(function () {
      document.getElementById('refresh').textContent = 'Não foi possível atualizar; nova tentativa em 30 s.';
    });
  }
  addCopyButtons(document);
  document.getElementById('refresh').textContent = 'Atualizada automaticamente a cada 30 s.';
  setInterval(refresh, EVERY_MS);
})();
`

export const ICON = '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16"><rect width="16" height="16" rx="3" fill="#1a73e8"/><path d="M3 8h10M9 4l4 4-4 4" stroke="#fff" stroke-width="2" fill="none"/></svg>'
