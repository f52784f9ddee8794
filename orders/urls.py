from django.urls import path

from . import views

urlpatterns = [
    path("", views.order_index, name="orders"),
    path("<int:order_id>/", views.order_detail, name="order"),
    path("export/", views.order_export, name="order_export"),
]
