from .views import addresses, listing, merge, profile, setup, store_activity, transfer

# Each views module lists its own patterns, so the parts of the area can grow apart.
urlpatterns = (
    listing.urlpatterns
    + merge.urlpatterns  # before the profile's <int:customer_id>/ patterns
    + profile.urlpatterns
    + addresses.urlpatterns
    + setup.urlpatterns
    + transfer.urlpatterns
    + store_activity.urlpatterns
)
