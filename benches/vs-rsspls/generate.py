#!/usr/bin/env python3
"""Writes N Liferay-like listing pages (about 200 KB each, 20-50 activities each)
for the octofeed benchmark: page-0001.html ... in the output folder.

The pages follow the coe.int Activities template that config/octofeed.toml reads
(an Asset Publisher portlet, one block per activity: <h3> link with "/-/", a
"DATE PLACE" line, a summary, "Read More"), wrapped in the bulk of a real Liferay
6.2 page: navigation, inline scripts and styles, sidebars and footer. Pages are
deterministic: page i is the same bytes on every run.

usage: generate.py OUTPUT_DIR N
"""

import random
import sys
from pathlib import Path

TARGET_BYTES = 200 * 1024
MONTHS = ["January", "February", "March", "April", "May", "June", "July",
          "August", "September", "October", "November", "December"]
PLACES = ["Strasbourg, France", "Online", "Kyiv", "Bucharest, Romania", "Accra, Ghana",
          "Santo Domingo, Dominican Republic", "Nuku\u2019alofa, Tonga", "Tbilisi, Georgia"]
WORDS = ("cybercrime electronic evidence convention protocol capacity building workshop "
         "prosecutors judges police cooperation training legislation data protection "
         "criminal justice octopus project council europe budapest second additional").split()


def sentence(rng, words):
    text = " ".join(rng.choice(WORDS) for _ in range(words))
    return text[0].upper() + text[1:]


def activity(rng, page, n):
    title = sentence(rng, rng.randint(6, 14))
    slug = f"p{page}-a{n}-" + "-".join(title.lower().split()[:8])
    day, month, year = rng.randint(1, 28), rng.choice(MONTHS), rng.randint(2015, 2024)
    summary = (sentence(rng, 60))[:297] + "..."
    return f"""
\t\t\t\t\t\t\t\t\t<div class="element clearfix">
\t\t\t\t\t\t\t\t\t\t<h3><a href="/en/web/cybercrime/-/{slug}" title="{title}">{title}</a></h3>
\t\t\t\t\t\t\t\t\t\t<p class="date-place"><span class="date">{day} {month} {year}</span> <span class="place">{rng.choice(PLACES)}</span></p>
\t\t\t\t\t\t\t\t\t\t<div class="abstract">{summary}</div>
\t\t\t\t\t\t\t\t\t\t<div class="read-more"><a href="/en/web/cybercrime/-/{slug}">Read More</a></div>
\t\t\t\t\t\t\t\t\t</div>"""


def chrome_block(rng, kind, size):
    """Liferay page bulk of about `size` bytes: inline script, navigation or link lists."""
    out, total = [], 0
    while total < size:
        if kind == "script":
            chunk = (f"AUI().use('aui-base','liferay-menu',function(A){{Liferay.Portlet.onLoad({{canEditTitle:false,"
                     f"columnPos:{rng.randint(0, 9)},isStatic:'end',namespacedId:'p_p_id_56_INSTANCE_{rng.randint(10**5, 10**6)}_',"
                     f"portletId:'56_INSTANCE_{rng.randint(10**5, 10**6)}',refreshURL:'\\x2fc\\x2fportal\\x2frender_portlet'}});}});\n")
        elif kind == "nav":
            label = sentence(rng, rng.randint(1, 4))
            chunk = (f'<li class="lfr-nav-item"><a href="/en/web/cybercrime/{"-".join(label.lower().split())}" '
                     f'class="nav-link" role="menuitem"><span>{label}</span></a></li>\n')
        else:
            label = sentence(rng, rng.randint(3, 9))
            chunk = f'<li><a href="https://www.coe.int/en/web/portal/{rng.randint(1, 10**6)}">{label}</a></li>\n'
        out.append(chunk)
        total += len(chunk.encode())
    return "".join(out)


def page(index):
    rng = random.Random(index)
    activities = "".join(activity(rng, index, n) for n in range(rng.randint(20, 50)))
    body = f"""<!DOCTYPE html>
<html class="ltr" dir="ltr" lang="en-GB">
<head>
<title>Activities {index} - Cybercrime</title>
<meta content="text/html; charset=UTF-8" http-equiv="content-type" />
<script type="text/javascript">{{SCRIPT}}</script>
</head>
<body class="yui3-skin-sam controls-visible guest-site signed-out public-page site">
<div id="wrapper"><header id="banner" role="banner"><nav class="navbar"><ul class="nav">{{NAV}}</ul></nav></header>
<div id="content"><div class="columns-2" id="main-content" role="main">
<div class="portlet-layout row-fluid"><div class="portlet-column span8" id="column-1">
<div class="portlet-boundary portlet-boundary_101_ portlet-static portlet-static-end portlet-borderless portlet-asset-publisher" id="p_p_id_101_INSTANCE_B{index:05d}_">
<section class="portlet"><div class="portlet-content"><div class="portlet-body">
<div class="activities-list"><h2 class="list-title">Activities</h2>{activities}
</div></div></div></section></div></div>
<div class="portlet-column span4" id="column-2"><ul class="related">{{LINKS}}</ul></div></div>
</div></div>
<footer id="footer" role="contentinfo"><ul>{{FOOTER}}</ul></footer></div>
</body>
</html>
"""
    left = max(TARGET_BYTES - len(body.encode()), 4000)
    parts = {"SCRIPT": left * 35 // 100, "NAV": left * 25 // 100, "LINKS": left * 20 // 100, "FOOTER": left * 20 // 100}
    kinds = {"SCRIPT": "script", "NAV": "nav", "LINKS": "links", "FOOTER": "links"}
    for key, size in parts.items():
        body = body.replace("{" + key + "}", chrome_block(rng, kinds[key], size), 1)
    return body


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    out, count = Path(sys.argv[1]), int(sys.argv[2])
    out.mkdir(parents=True, exist_ok=True)
    for index in range(1, count + 1):
        path = out / f"page-{index:04d}.html"
        if not path.exists():
            path.write_text(page(index), encoding="utf-8")


if __name__ == "__main__":
    main()
