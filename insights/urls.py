from django.urls import path

from . import views

app_name = "insights"

urlpatterns = [
    path("insights/", views.mine, name="mine"),
    path("w/<slug:slug>/insights/", views.workbook, name="workbook"),
]
