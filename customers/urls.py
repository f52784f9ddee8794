from .views import listing, profile, setup, transfer

# Each views module lists its own patterns, so the parts of the area can grow apart.
urlpatterns = listing.urlpatterns + profile.urlpatterns + setup.urlpatterns + transfer.urlpatterns
