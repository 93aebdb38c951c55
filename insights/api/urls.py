from django.urls import path

from . import views

urlpatterns = [
    path(
        "workbooks/<int:pk>/insights/",
        views.WorkbookInsightsView.as_view(),
        name="api-workbook-insights",
    ),
    path("me/insights/", views.MyInsightsView.as_view(), name="api-my-insights"),
]
