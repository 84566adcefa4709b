"""Sphinx configuration of the documentation site (build: see README, "Development").

MyST Markdown pages, the quick-start notebook through MyST-NB, API pages from docstrings (autodoc), the
configuration reference and the results tables generated from the sources and the committed JSON by the local
extension `_ext/hsuanwu_docs.py`. Every warning is an error when built with `-W`; `nitpicky` makes a reference to
a Python name, config field or page that does not exist a warning."""

import os
import sys

DOCS = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(DOCS, "_ext"))

project = "hsuanwu_jax"
author = "the hsuanwu_jax developers"
copyright = "2026, the hsuanwu_jax developers"

extensions = [
    "myst_nb",  # Markdown pages (MyST) and notebooks
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",  # the docstrings' Google-style "Args:" sections
    "hsuanwu_docs",
]
myst_enable_extensions = ["colon_fence", "deflist"]
myst_heading_anchors = 3  # [text](page.md#a-heading) links resolve to the heading
nb_execution_mode = (
    "off"  # the test suite executes the notebook (tests/project/test_notebook.py); the site shows it
)
exclude_patterns = ["_build", "_ext", "**.ipynb_checkpoints"]

nitpicky = True
# Names from other projects: no inventory is fetched (the site builds offline), so they are not links.
nitpick_ignore_regex = [
    (
        "py:class",
        r"(jax|jaxlib|numpy|np|ml_collections|gymnasium|envpool|flax|optax|chex|omegaconf|collections"
        r"|typing|matplotlib|pathlib|concurrent|threading|os)\b.*",
    ),
    (
        "py:class",
        r"(Any|Callable|Iterable|Iterator|Mapping|Sequence|NamedTuple|Array|ArrayLike|PRNGKey|"
        r"ConfigDict|Figure|Path|optional|default)",
    ),
]
autodoc_member_order = "bysource"
autodoc_typehints = "none"  # annotations name internal types; the docstrings say shapes and kinds
autodoc_default_options = {"members": True, "undoc-members": False}

html_theme = "sphinx_book_theme"
html_title = "hsuanwu_jax"
html_theme_options = {"show_toc_level": 2, "navigation_with_keys": False}
