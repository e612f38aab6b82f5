"""Sphinx configuration of the course website (built by `rnn-course site` / `make site`).

`rnn_course.classroom.site.build_site` copies this folder, the chapter notebooks (chapters/) and the
student editions of the exercises (exercises/) into a staging folder and runs sphinx-build there.
Notebooks are rendered from their stored outputs: nothing is executed and nothing is downloaded.
"""

import os
from pathlib import Path

project = "循环神经网络实战课"
author = "rnn-course contributors"
copyright = "rnn-course contributors, MIT License"
language = "zh_CN"               # Chinese UI strings; search splits words with jieba (a course dependency)
html_search_language = "zh"

extensions = ["myst_nb"]         # notebooks + MyST Markdown; sphinx.ext.mathjax comes with the HTML builder
nb_execution_mode = "off"        # use the outputs stored in the notebooks (CI already executed them)
myst_enable_extensions = ["dollarmath", "amsmath"]   # $…$ and $$…$$ as in the notebooks
myst_heading_anchors = 3
suppress_warnings = ["myst.header"]  # chapters use "## 1." style numbering that may skip a level

root_doc = "index"
exclude_patterns = ["_build", "**.ipynb_checkpoints"]

html_theme = "sphinx_book_theme"  # ships its CSS/JS/fonts; fetches nothing at build time
html_title = project
html_theme_options = {
    "show_toc_level": 2,
    "use_download_button": True,      # download the .ipynb of a page
    "use_fullscreen_button": False,
}
html_last_updated_fmt = None

# Offline: `rnn_course.classroom.site.build_site` copies MathJax 3.2.2 (from the pip package
# django-static-mathjax) and the Chinese web font (Noto Sans SC, from pylopdf-fonts-zh-cn) into
# `_offline_static/` of the staging folder; Sphinx copies that into the site's `_static/`, and every
# page refers to it by a relative URL (the site works from a USB stick, file:// or a web server).
# Sphinx 9 would otherwise load MathJax 4 from a CDN. RNN_COURSE_MATHJAX still overrides the script
# (a URL, or a path relative to _static). Formulas use MathJax 3's CHTML output and its woff fonts.
_offline = Path(__file__).resolve().parent / "_offline_static"
if _offline.is_dir():
    html_static_path = ["_offline_static"]
    html_css_files = ["fonts/cjk-font.css", "fonts/site-fonts.css"]
if os.environ.get("RNN_COURSE_MATHJAX"):
    mathjax_path = os.environ["RNN_COURSE_MATHJAX"]
elif (_offline / "mathjax" / "tex-chtml-full.js").is_file():
    mathjax_path = "mathjax/tex-chtml-full.js"   # relative: Sphinx resolves it against _static/ per page
    # A MathJax 3 configuration (myst adds its processHtmlClass here): Sphinx 9 writes it as
    # `window.MathJax = {...}`, which MathJax 3 reads; mathjax4_config stays unset.
    mathjax3_config = {"options": {}}
