"""Sphinx configuration of the course website (built by `rnn-course site` / `make site`).

`rnn_course.classroom.site.build_site` copies this folder, the chapter notebooks (chapters/) and the
student editions of the exercises (exercises/) into a staging folder and runs sphinx-build there.
Notebooks are rendered from their stored outputs: nothing is executed and nothing is downloaded.
"""

import os

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

# Formulas are rendered in the browser by MathJax, which Sphinx loads from a CDN when a page is
# opened. Offline the pages stay readable, but formulas show as LaTeX source. To render offline,
# point RNN_COURSE_MATHJAX at a local MathJax 3 build, e.g. "file:///opt/mathjax/es5/tex-chtml.js"
# (an unpacked `npm pack mathjax@3`), before `make site`.
if os.environ.get("RNN_COURSE_MATHJAX"):
    mathjax_path = os.environ["RNN_COURSE_MATHJAX"]
