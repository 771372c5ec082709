"""The trash: records deleted in the admin wait here, with their children, until restored
or purged.

Which models go to the trash is declared once, by inheriting `admin_app.db.Trashable`
(customers, products, orders and their lines). `service` moves rows in and out;
`purge` removes them for good, for the worker and `admin-app purge-trash`.
"""
