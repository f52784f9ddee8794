from django.urls import path

from . import views

urlpatterns = [
    path("", views.customer_index, name="customers"),
    path("<int:customer_id>/", views.customer_detail, name="customer"),
    path("<int:customer_id>/notes/", views.note_create, name="note_create"),
    path("<int:customer_id>/notes/<int:note_id>/delete/", views.note_remove, name="note_delete"),
    path("<int:customer_id>/tags/add/", views.tag_add, name="tag_add"),
    path("<int:customer_id>/tags/remove/", views.tag_remove, name="tag_remove"),
]
