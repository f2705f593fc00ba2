from django.contrib import admin

from mailer.models import EmailDelivery


@admin.register(EmailDelivery)
class EmailDeliveryAdmin(admin.ModelAdmin):
    list_display = ("submission", "recipient", "status", "sent_at", "attempts")
    list_filter = ("status",)
    search_fields = ("recipient", "submission__id")
    readonly_fields = [field.name for field in EmailDelivery._meta.fields]
