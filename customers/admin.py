from django.contrib import admin

from .models import Customer, CustomerGroup, CustomerNote, CustomerTag, CustomField


@admin.register(Customer)
class CustomerAdmin(admin.ModelAdmin):
    list_display = [
        "email",
        "first_name",
        "last_name",
        "store",
        "orders_count",
        "total_spent",
        "last_order_at",
        "customer_since",
    ]
    list_filter = ["store", "country", "account_type", "accepts_marketing", "tax_exempt"]
    search_fields = ["email", "first_name", "last_name"]
    list_select_related = ["store"]
    raw_id_fields = ["group", "user"]


admin.site.register([CustomerGroup, CustomerTag, CustomerNote, CustomField])
