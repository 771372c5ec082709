"""Saved views of lists: named, shareable states of a list page, and remembered columns.

    GET /admin/<key>/list?view=<id>      the list in that view's state (`opening`)
    GET /admin/<key>/list                a role's default view, else the user's last
                                         columns and page size (`opening`)
    GET/POST /admin/_api/saved-views/<key>[/<id>[/delete]]   the Views menu (`routes`)

`state` normalises and checks a list's URL parameters, `store` reads and writes the rows,
`palette` offers the views in the command palette. A view stores parameters only;
whoever opens it is checked as for any list URL.
"""
