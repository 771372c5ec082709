"""The list engine: one package owns the list page, from URL to HTML, on one path.

    GET /admin/<view>/list?sort=…&q=…&after=…
      routes.ListRoutes.list_page
        ├─ query.Position, view's list parameters   what the URL asks (400 if malformed)
        ├─ chrome.ChromeCache → chrome.Chrome      the page around `content`, per viewer
        ├─ query.ListingMixin.list_page
        │    ├─ columns.search_clause                search as an index can serve it
        │    ├─ keyset                               where the page starts (no OFFSET)
        │    ├─ rows.read_rows                       column values, 1 query per relation
        │    └─ counting.count_rows                  exact when small, else estimated
        ├─ rows.RowRenderer (columns.COLUMN_TYPES)   each cell from its type's entry
        └─ slots, Chrome.block("content"), fill      the page, as one UTF-8 body

`docs/big-tables.md` tells the story; `columns` is where a new column type goes.
"""
