from django.contrib import admin

from .models import Order, OrderItem, Product


class OrderItemInline(admin.TabularInline):
    model = OrderItem
    extra = 0
    raw_id_fields = ["product"]


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin):
    list_display = ["number", "store", "email", "total", "status", "payment_status", "placed_at"]
    list_filter = ["store", "status", "payment_status"]
    search_fields = ["email"]
    raw_id_fields = ["customer"]
    inlines = [OrderItemInline]


admin.site.register(Product)
