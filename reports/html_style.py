"""The check-in report's style sheet (inlined into the HTML by reports/html.py): a desktop
layout, and below 600 px a phone's, where tables become stacked cards and the narrow overview
chart replaces the wide one."""

CSS = """
:root { --text: #2c3e50; --muted: #6b7b8c; --line: #dde3ea; --bg: #f6f8fa; }
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--text);
  font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial,
  sans-serif; }
main { max-width: 1180px; margin: 0 auto; padding: 24px 28px 48px; }
header { border-bottom: 1px solid var(--line); padding-bottom: 14px; margin-bottom: 8px; }
.eyebrow { color: var(--muted); text-transform: uppercase; letter-spacing: .06em;
  font-size: 12px; margin: 0; }
h1 { font-size: 28px; margin: 4px 0 2px; }
h2 { font-size: 20px; margin: 30px 0 10px; padding-bottom: 4px;
  border-bottom: 2px solid var(--line); }
h3 { font-size: 17px; margin: 0; }
.meta { color: var(--muted); margin: 2px 0 10px; }
.counts { list-style: none; display: flex; flex-wrap: wrap; gap: 8px; padding: 0; margin: 0; }
.badge { display: inline-block; border-radius: 999px; padding: 1px 10px; color: #fff;
  font-weight: 600; font-size: 13px; white-space: nowrap; }
.counts .badge { font-size: 14px; padding: 3px 12px; }
table { border-collapse: collapse; width: 100%; background: #fff; }
th, td { text-align: left; padding: 7px 10px; border-bottom: 1px solid var(--line);
  vertical-align: top; }
th { font-size: 12px; text-transform: uppercase; letter-spacing: .04em; color: var(--muted);
  background: #fbfcfd; }
td.num, th.num { text-align: right; white-space: nowrap; }
.kr-id { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace;
  font-size: 12px; color: var(--muted); }
.empty { color: var(--muted); font-style: italic; }
.objective { background: #fff; border: 1px solid var(--line); border-radius: 8px;
  margin: 16px 0; overflow: hidden; }
.objective > .head { display: flex; flex-wrap: wrap; align-items: baseline; gap: 10px;
  padding: 12px 16px; background: #fbfcfd; border-bottom: 1px solid var(--line); }
.objective > .head .score { margin-left: auto; color: var(--muted); }
.kr { padding: 14px 16px; border-bottom: 1px solid var(--line);
  border-left: 5px solid var(--status); }
.kr:last-child { border-bottom: 0; }
.kr .title { display: flex; flex-wrap: wrap; align-items: baseline; gap: 8px;
  margin-bottom: 8px; }
.kr .title strong { font-size: 16px; }
.kr .body { display: flex; flex-wrap: wrap; gap: 18px; align-items: flex-start; }
dl.numbers { display: grid; grid-template-columns: auto auto; gap: 2px 12px; margin: 0;
  width: 310px; }
dl.numbers dt { color: var(--muted); }
dl.numbers dd { margin: 0; font-weight: 600; text-align: right;
  font-variant-numeric: tabular-nums; }
figure { margin: 0; }
figure svg { display: block; max-width: 100%; height: auto; }
.checkin { flex: 1 1 220px; min-width: 220px; background: #fffbea; border: 1px solid #f1e4b3;
  border-radius: 6px; padding: 8px 12px; }
.checkin.none { background: #fafafa; border-color: var(--line); color: var(--muted); }
.checkin .label { font-size: 12px; text-transform: uppercase; letter-spacing: .04em;
  color: var(--muted); }
.confidence { font-weight: 700; }
.meter { display: inline-flex; gap: 2px; vertical-align: middle; margin-left: 6px; }
.meter i { width: 7px; height: 12px; background: #e3e7eb; border-radius: 1px; }
.comment { margin: 4px 0 0; white-space: pre-wrap; }
.who { color: var(--muted); font-size: 13px; }
.flags { margin-top: 8px; font-size: 13px; color: #6c3483; }
.derived { margin-top: 6px; font-size: 13px; color: var(--muted); }
.flag { display: inline-block; border: 1px solid #c39bd3; color: #6c3483; border-radius: 4px;
  padding: 0 6px; font-size: 12px; font-weight: 600; margin-right: 4px; }
.overview { background: #fff; border: 1px solid var(--line); border-radius: 8px;
  padding: 12px; }
.retro-summary { display: flex; flex-wrap: wrap; gap: 12px; margin: 6px 0 12px; }
.retro-summary div { background: #fff; border: 1px solid var(--line); border-radius: 8px;
  padding: 8px 14px; }
.retro-summary b { display: block; font-size: 22px; }
tr.miss td { background: #fdf0ee; }
footer { margin-top: 36px; color: var(--muted); font-size: 13px; }
footer dl { display: grid; grid-template-columns: max-content 1fr; gap: 2px 12px; }
footer dt { font-weight: 600; }
.objective > .head dl.facts { margin: 0 0 0 auto; display: grid;
  grid-template-columns: max-content auto; gap: 2px 10px; color: var(--muted); }
dl.facts dt { font-size: 12px; text-transform: uppercase; letter-spacing: .04em;
  align-self: center; }
dl.facts dd { margin: 0; }
.trend { margin-top: 8px; font-size: 13px; color: var(--muted); display: flex;
  flex-wrap: wrap; gap: 2px 16px; }
.trend b { color: var(--text); font-variant-numeric: tabular-nums; }
.signal { margin-top: 6px; font-size: 13px; color: #a04000; font-weight: 600; }
.previous { margin-top: 8px; border-top: 1px dashed #e6d9a8; padding-top: 6px; }
.checkin.none .previous { border-color: var(--line); }
ul.signals li { margin: 4px 0; }
.comment, td { overflow-wrap: anywhere; }
figure.chart { max-width: 100%; }
.overview.narrow { display: none; }
/* A phone: tables become stacked cards (each value under its column's name), the narrow
   overview replaces the wide one, and nothing is wider than the screen. */
@media (max-width: 600px) {
  main { padding: 14px 12px 32px; }
  h1 { font-size: 22px; }
  table.rows, table.rows tbody, table.rows tr, table.rows td { display: block; width: 100%; }
  table.rows { background: none; }
  table.rows thead { display: none; }
  table.rows tr { background: #fff; border: 1px solid var(--line); border-radius: 8px;
    margin: 0 0 10px; padding: 6px 12px; }
  table.rows td, table.rows td.num { border: 0; padding: 3px 0; text-align: left;
    white-space: normal; }
  table.rows td::before { content: attr(data-label); display: block; font-size: 12px;
    text-transform: uppercase; letter-spacing: .04em; color: var(--muted); }
  .objective > .head { padding: 10px 12px; }
  .objective > .head dl.facts { margin: 0; }
  .kr { padding: 12px 10px; }
  dl.numbers { width: 100%; }
  .checkin { min-width: 0; flex-basis: 100%; }
  .overview { padding: 4px; }
  .overview.wide { display: none; }
  .overview.narrow { display: block; }
}
@media print { body { background: #fff; } .objective, .kr { break-inside: avoid; } }
"""
