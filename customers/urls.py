from .views import addresses, listing, profile, setup, store_activity, transfer

# Each views module lists its own patterns, so the parts of the area can grow apart.
urlpatterns = (
    listing.urlpatterns
    + profile.urlpatterns
    + addresses.urlpatterns
    + setup.urlpatterns
    + transfer.urlpatterns
    + store_activity.urlpatterns
)
