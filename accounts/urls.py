from django.urls import path

from . import views

app_name = "accounts"

urlpatterns = [
    path("accounts/signup/", views.signup, name="signup"),
    path("accounts/login/", views.signin, name="login"),
    path("accounts/login/verify/", views.signin_verify, name="login-verify"),
    path("accounts/logout/", views.SignOutView.as_view(), name="logout"),
    path("accounts/password-reset/", views.password_reset, name="password-reset"),
    path("accounts/password-reset/sent/", views.password_reset_done, name="password-reset-done"),
    path(
        "accounts/reset/<uidb64>/<token>/",
        views.password_reset_confirm,
        name="password-reset-confirm",
    ),
    path("accounts/reset/done/", views.password_reset_complete, name="password-reset-complete"),
    path("settings/", views.settings_view, name="settings"),
    path("settings/avatar/", views.avatar, name="avatar"),
    path("settings/password/", views.password_change, name="password-change"),
    path("settings/two-factor/", views.mfa_view, name="mfa"),
    path("settings/export/", views.export, name="export"),
    path("settings/export/<str:token>/", views.export_download, name="export-download"),
    path("settings/delete/", views.delete_account, name="delete-account"),
]
