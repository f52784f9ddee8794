"""Groups, tags and custom-field settings pages."""

urlpatterns: list = []
