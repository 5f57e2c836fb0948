// Stands in for MathJax on the tutorial pages (mkdocs-jupyter's custom_mathjax_url): the
// tutorials hold no TeX, and the site loads nothing from the network.
