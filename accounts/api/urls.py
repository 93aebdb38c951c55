from django.urls import path

from . import providers, views

urlpatterns = [
    path("auth/register/", views.RegisterView.as_view(), name="api-register"),
    path("auth/token/", views.TokenObtainView.as_view(), name="api-token"),
    path("auth/provider/", providers.ProviderSignInView.as_view(), name="api-auth-provider"),
    path("auth/token/refresh/", views.TokenRefreshView.as_view(), name="api-token-refresh"),
    path("auth/logout/", views.LogoutView.as_view(), name="api-logout"),
    path("auth/password-reset/", views.PasswordResetView.as_view(), name="api-password-reset"),
    path(
        "auth/password-reset/confirm/",
        views.PasswordResetConfirmView.as_view(),
        name="api-password-reset-confirm",
    ),
    path("me/", views.MeView.as_view(), name="api-me"),
    path("me/export/", views.ExportView.as_view(), name="api-me-export"),
    path("me/email/verify/", views.VerificationEmailView.as_view(), name="api-verify-email"),
    path("me/mfa/setup/", views.MfaSetupView.as_view(), name="api-mfa-setup"),
    path("me/mfa/confirm/", views.MfaConfirmView.as_view(), name="api-mfa-confirm"),
    path("me/mfa/disable/", views.MfaDisableView.as_view(), name="api-mfa-disable"),
]
