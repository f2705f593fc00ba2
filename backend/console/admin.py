"""The console lives in the admin: its index gets a link to the console's pages."""

from django.contrib import admin

# The admin's own index.html is found before any app's (django.contrib.admin is first in
# INSTALLED_APPS), so the link comes from an index template that extends it.
admin.site.index_template = "console/admin_index.html"
