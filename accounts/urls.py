from django.urls import path

from . import provider_views, views

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
    path("accounts/verify/<uidb64>/<token>/", views.verify_email, name="verify-email"),
    path("accounts/verify/resend/", views.resend_verification, name="verify-email-resend"),
    path("accounts/provider/username/", provider_views.choose_username, name="provider-username"),
    path("accounts/provider/link/", provider_views.confirm_link, name="provider-link"),
    path("accounts/provider/error/", provider_views.error, name="provider-error"),
    path("accounts/provider/<str:backend>/start/", provider_views.begin, name="provider-begin"),
    path(
        "accounts/provider/<str:backend>/link/",
        provider_views.link_provider,
        name="provider-link-start",
    ),
    path(
        "accounts/provider/<str:backend>/callback/",
        provider_views.complete,
        name="provider-complete",
    ),
    path(
        "accounts/provider/<str:backend>/reauthenticate/",
        provider_views.reauthenticate,
        name="provider-reauth",
    ),
    path("accounts/provider/<str:backend>/unlink/", provider_views.unlink, name="provider-unlink"),
    path("settings/", views.settings_view, name="settings"),
    path("settings/email/", views.email_change, name="email-change"),
    path("settings/avatar/", views.avatar, name="avatar"),
    path("settings/password/", views.password_change, name="password-change"),
    path("settings/two-factor/", views.mfa_view, name="mfa"),
    path("settings/export/", views.export, name="export"),
    path("settings/export/<str:token>/", views.export_download, name="export-download"),
    path("settings/delete/", views.delete_account, name="delete-account"),
]
