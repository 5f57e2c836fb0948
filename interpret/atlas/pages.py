"""HTML of the atlas: index, one page per site, one page per unit, and the search index.

Every page is static and self-contained (CSS and JS inline, no CDN), and works from
``file://``: the search index is a JS file (``search.js``) that sets a global, since
browsers refuse ``fetch`` of local JSON.
"""

from __future__ import annotations

import html
import json
from urllib.parse import quote

from interpret.atlas.facts import LABELS, SiteSummary, folder
from interpret.atlas.images import SPRITE_COLUMNS, THUMB
from interpret.atlas.svg import bars, histograms

__all__ = ["index_page", "site_page", "unit_page", "unit_card", "search_js", "ROUTES"]

ROUTES = {
    "reverse": "switches: the path to the site is a chain with max pools, walked back "
    "with the pooling switches (Zeiler & Fergus)",
    "gradient": "gradient route: the path is not a chain with max pools, so the "
    "deconvnet runs as autograd with rectified backward signals",
}

CSS = """
body{font:14px/1.4 system-ui,sans-serif;margin:0 1.5em 2em;color:#222}
header{display:flex;gap:1em;align-items:center;flex-wrap:wrap;border-bottom:1px solid #ccc;
padding:.5em 0;margin-bottom:1em}header a{text-decoration:none}
h1{font-size:1.4em;margin:.4em 0}h2{font-size:1.1em;margin:1.2em 0 .4em}
table{border-collapse:collapse}td,th{padding:2px 8px;border-bottom:1px solid #eee;text-align:left}
.num{text-align:right;font-variant-numeric:tabular-nums}
.grid{display:flex;flex-wrap:wrap;gap:4px}
.u{display:block;width:48px;height:48px;position:relative;border:1px solid #ccc;
background-repeat:no-repeat}
.u span{position:absolute;bottom:0;left:0;font-size:10px;background:#fffc;padding:0 2px}
.u.dead{opacity:.35}.flag{color:#b00;font-weight:600}
.chart text{font-size:10px}#results a{display:block}
.controls{margin:.5em 0;display:flex;gap:1em;flex-wrap:wrap}
.cards{display:flex;gap:2em;flex-wrap:wrap}
"""

SEARCH_JS = """
function atlasSearch(root){
 var q=document.getElementById('q').value.trim(),out=document.getElementById('results');
 var idx=window.ATLAS_INDEX;out.innerHTML='';if(!q||!idx)return false;
 var m=q.match(/^(.+):(\\d+)$/);
 if(m){var s=idx.sites[m[1]];if(s&&+m[2]<s.units){
  window.location.href=root+s.folder+'/'+m[2]+'.html';return false;}}
 var ql=q.toLowerCase(),n=0;
 Object.keys(idx.classes).forEach(function(c){
  if(c.toLowerCase().indexOf(ql)<0||n>=40)return;
  idx.classes[c].forEach(function(e){if(n>=40)return;n++;var a=document.createElement('a');
   a.href=root+idx.sites[e[0]].folder+'/'+e[1]+'.html';a.className='hit';
   a.textContent=e[0]+':'+e[1]+' \\u2014 '+c+' (balanced accuracy '+e[2].toFixed(3)+')';
   out.appendChild(a);});});
 if(!n){out.textContent='No unit or class matches '+q+'.';}
 return false;}
"""


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _href(site: str, unit: int, root: str) -> str:
    return f"{root}{quote(folder(site))}/{unit}.html"


def _page(title: str, body: str, root: str) -> str:
    return (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>{_e(title)}</title><style>{CSS}</style>"
        f"<script src='{root}search.js'></script><script>{SEARCH_JS}</script></head>"
        f"<body><header><a href='{root}index.html'><b>unit atlas</b></a>"
        f"<form id='search' onsubmit=\"return atlasSearch('{root}')\">"
        "<input id='q' size='28' placeholder='site:unit or a class name' aria-label='search'>"
        "<button>search</button></form></header><div id='results'></div>"
        f"<main>{body}</main></body></html>"
    )


def index_page(meta: dict, sites: dict[str, dict]) -> str:
    """The index: model, data, sites with unit counts, dead and dominating units."""
    rows, flagged = [], []
    for site, info in sites.items():
        rows.append(
            f"<tr><td><a class='site' href='{quote(folder(site))}/index.html'>{_e(site)}</a></td>"
            f"<td>{_e(info.get('module', ''))}</td>"
            f"<td class='num'>{info['units']}</td><td>{_e(info['shape'])}</td>"
            f"<td class='num'>{len(info['dead'])}</td>"
            f"<td class='num'>{len(info['dominating'])}</td>"
            f"<td>{_e(info['route'])}</td></tr>"
        )
        for kind in ("dead", "dominating"):
            if info[kind]:
                links = " ".join(
                    f"<a href='{_href(site, u, '')}'>{_e(site)}:{u}</a>" for u in info[kind][:60]
                )
                more = f" ... ({len(info[kind])} in all)" if len(info[kind]) > 60 else ""
                flagged.append(
                    f"<p><span class='flag'>{kind}</span> at {_e(site)}: {links}{more}</p>"
                )
    classes = meta.get("classes") or []
    shown = ", ".join(_e(c) for c in classes[:40]) + (" ..." if len(classes) > 40 else "")
    body = (
        f"<h1>Unit atlas of {_e(meta['model'])}</h1>"
        f"<p>Data: <b>{_e(meta['data'])}</b>, {meta['images']} images"
        + (f", {len(classes)} classes: {shown}" if classes else ", unlabelled")
        + (f". Input {' x '.join(map(str, meta['input']))}" if meta.get("input") else "")
        + f". Top-{meta['k']} crops per unit. Built {_e(meta['created'])} in "
        f"{meta['seconds']:.0f} s.</p>"
        "<table><tr><th>site</th><th>module</th><th>units</th><th>maps (C, h, w)</th><th>dead</th>"
        f"<th>dominating</th><th>projections</th></tr>{''.join(rows)}</table>"
        "<h2>Flagged units</h2>" + ("".join(flagged) or "<p>None.</p>") +
        "<p><small>Dead: never above 0 over the data. Dominating: mean activation over "
        "8x the median |mean| of its site. Search a unit as <code>site:unit</code> or a class "
        "by name (the units most selective for it, by single-unit balanced accuracy, "
        "DeepID2+).</small></p>"
    )  # fmt: skip
    return _page(f"Unit atlas: {meta['model']}", body, "")


def site_page(
    site: str,
    s: SiteSummary,
    class_names: list[str],
    sprite: str,
    route: str,
    title: str | None = None,
) -> str:
    """Every unit as a thumbnail from one sprite, sortable and filterable (inline JS);
    ``title`` names the site in the heading (``"site 4 (ReLU)"``)."""
    cells = []
    for u in range(len(s.mean)):
        row, col = divmod(u, SPRITE_COLUMNS)
        label = LABELS[int(s.label[u])]
        cls = class_names[int(s.best_class[u])] if int(s.best_class[u]) >= 0 else "-"
        acc = float(s.accuracy[u])
        cells.append(
            f"<a class='u{' dead' if bool(s.dead[u]) else ''}' href='{u}.html' data-unit='{u}' "
            f"data-mean='{float(s.mean[u]):.6g}' data-sparsity='{float(s.sparsity[u]):.6g}' "
            f"data-acc='{acc if acc == acc else -1:.6g}' data-label='{label}' "
            f"data-class='{_e(cls)}' data-dead='{int(bool(s.dead[u]))}' "
            f"title='{_e(site)}:{u} {_e(cls)} {label}' "
            f"style='background-image:url({sprite});background-position:-{col * THUMB}px "
            f"-{row * THUMB}px'><span>{u}</span></a>"
        )
    options = "".join(f"<option>{_e(c)}</option>" for c in class_names)
    script = """
<script>
function arrange(){var g=document.getElementById('units'),key=document.getElementById('sort').value,
 f=document.getElementById('filter').value,c=document.getElementById('cls').value;
 var a=Array.prototype.slice.call(g.children);
 a.sort(function(x,y){if(key==='unit')return x.dataset.unit-y.dataset.unit;
  return parseFloat(y.dataset[key])-parseFloat(x.dataset[key]);});
 a.forEach(function(e){var ok=(f==='all')||(f==='dead'&&e.dataset.dead==='1')||
  (f==='alive'&&e.dataset.dead==='0')||(e.dataset.label===f);
  if(c&&e.dataset.class!==c)ok=false;e.style.display=ok?'':'none';g.appendChild(e);});
 document.getElementById('shown').textContent=
  a.filter(function(e){return e.style.display!=='none';}).length;}
</script>"""
    body = (
        f"<h1>{_e(title or site)}: {len(s.mean)} units</h1>"
        f"<p>Projections by {_e(ROUTES.get(route, route))}."
        " Thumbnails: each unit's strongest dataset crop (or its feature visualization).</p>"
        "<div class='controls'><label>sort <select id='sort' onchange='arrange()'>"
        "<option value='unit'>unit</option><option value='mean'>mean activation</option>"
        "<option value='sparsity'>sparsity</option><option value='acc'>best class accuracy"
        "</option></select></label><label>show <select id='filter' onchange='arrange()'>"
        "<option value='all'>all</option><option value='excitatory'>excitatory</option>"
        "<option value='inhibitory'>inhibitory</option><option value='uncertain'>uncertain"
        "</option><option value='dead'>dead</option><option value='alive'>not dead</option>"
        "</select></label><label>best class <select id='cls' onchange='arrange()'>"
        f"<option value=''>any</option>{options}</select></label>"
        f"<span><span id='shown'>{len(s.mean)}</span> shown</span></div>"
        f"<div class='grid' id='units'>{''.join(cells)}</div>{script}"
    )
    return _page(f"{site}: units", body, "../")


def _constant(f: dict) -> bool:
    """A dead unit whose spatial mean is the same on every image (all zero after a ReLU)."""
    return bool(f["dead"]) and f["std"] == 0 and f["min"] == f["max"]


def _stats_table(f: dict) -> str:
    best = f"{f['best_class']} ({f['accuracy']:.3f})"
    rows = [
        ("mean (per-image spatial mean)", f"{f['mean']:.4g}"),
        ("std over images", f"{f['std']:.4g}"),
        ("min / max of the spatial mean", f"{f['min']:.4g} / {f['max']:.4g}"),
        ("strongest activation (any position)", f"{f['peak']:.4g}"),
        ("sparsity (values <= 0)", f"{f['sparsity']:.3f}"),
        ("best class (balanced accuracy)", "none (constant unit)" if _constant(f) else best),
        ("label for that class (DeepID2+)", "-" if _constant(f) else f["label"]),
        ("dead", "yes" if f["dead"] else "no"),
        ("dominating", "yes" if f["dominating"] else "no"),
    ]
    return (
        "<table class='stats'>"
        + "".join(f"<tr><td>{_e(a)}</td><td class='num'>{_e(b)}</td></tr>" for a, b in rows)
        + "</table>"
    )


def unit_card(f: dict, strip: str, fv: str | None, root: str) -> str:
    """The body of a unit's page (also the Jupyter card, with ``data:`` image URIs)."""
    site, unit = f["site"], f["unit"]
    top_rows = "".join(
        f"<tr><td class='num'>{i + 1}</td><td class='num'>{r['value']:.4g}</td>"
        f"<td>{_e(r['image'])}</td><td class='num'>({r['y']}, {r['x']})</td></tr>"
        for i, r in enumerate(f["top"])
    )
    parts = [
        f"<h1>{_e(site)}:{unit} <small>unit {unit} of {_e(f.get('site_title', site))}</small></h1>",
        "<div class='cards'><div>" + _stats_table(f) + "</div>",
    ]
    if fv:
        parts.append(f"<div><h2>Feature visualization</h2><img class='fv' src='{fv}' "
                     f"width='128' height='128' alt='feature visualization of {_e(site)}:{unit}'>"
                     "<br><small>activation maximization (Lucid preset)</small></div>")  # fmt: skip
    parts.append("</div>")
    parts.append(
        f"<h2>Top-{len(f['top'])} dataset crops and their deconvnet projections</h2>"
        f"<img class='strip' src='{strip}' alt='top crops of {_e(site)}:{unit}'>"
        f"<p><small>Projections by {_e(ROUTES.get(f['route'], f['route']))}; crops: "
        f"{_e(f['window'])} windows. Zero is mid-grey.</small></p>"
        + (
            f"<p class='note'>This unit is {f['max']:.4g} on every image (dead): these "
            f"{len(f['top'])} crops are ties, not what it responds to, and its projections "
            "are blank.</p>"
            if _constant(f)
            else ""
        )
        + "<table><tr><th>#</th><th>activation</th><th>image</th><th>(y, x) in the map</th></tr>"
        f"{top_rows}</table>"
    )
    if f["classes"] is not None and _constant(f):
        parts.append("<h2>Classes</h2><p>A constant unit separates no class.</p>")
    elif f["classes"] is not None:
        names, means = f["classes"]["names"], f["classes"]["mean"]
        order = sorted(range(len(means)), key=lambda i: -abs(means[i]))[:30]
        best = names.index(f["best_class"]) if f["best_class"] in names else -1
        hist = f["hist"]
        parts.append(
            "<div class='cards'><div><h2>Mean activation per class</h2>"
            + bars([names[i] for i in order], [means[i] for i in order],
                   order.index(best) if best in order else -1)
            + f"</div><div><h2>{_e(hist['class'])} against the rest: "
            f"<span class='label'>{_e(f['label'])}</span></h2>"
            + histograms(hist["edges"], hist["group"], hist["rest"], (hist["class"], "rest"))
            + "</div></div>"
        )  # fmt: skip
    lists = []
    for other, found in f["correlated"].items():
        where = "same site" if other == site else f.get("titles", {}).get(other, other)
        links = (
            "".join(
                f"<li><a class='corr' href='{_href(other, u, root)}'>{_e(other)}:{u}</a> "
                f"r = {r:.3f}</li>"
                for u, r in found
            )
            or "<li>none (constant units)</li>"
        )
        lists.append(f"<div><h3>{_e(where)}</h3><ul>{links}</ul></div>")
    parts.append("<h2>Most correlated units over the data</h2><div class='cards'>"
                 + "".join(lists) + "</div>")  # fmt: skip
    return "".join(parts)


def unit_page(f: dict, strip: str, fv: str | None) -> str:
    """A unit's page ``<site>/<unit>.html``: the card with site, previous and next links."""
    unit, units = f["unit"], f["units"]
    nav = (
        f"<p><a href='index.html'>all units of {_e(f.get('site_title', f['site']))}</a>"
        + (f" | <a class='prev' href='{unit - 1}.html'>previous</a>" if unit > 0 else "")
        + (f" | <a class='next' href='{unit + 1}.html'>next</a>" if unit + 1 < units else "")
        + "</p>"
    )
    return _page(f"{f['site']}:{unit}", nav + unit_card(f, strip, fv, "../"), "../")


def search_js(sites: dict[str, int], classes: dict[str, list[list]]) -> str:
    """The search index as a script that sets ``window.ATLAS_INDEX``."""
    index = {
        "sites": {s: {"units": n, "folder": quote(folder(s))} for s, n in sites.items()},
        "classes": classes,
    }
    return "window.ATLAS_INDEX=" + json.dumps(index, separators=(",", ":")) + ";\n"
