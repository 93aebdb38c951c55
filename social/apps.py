from django.apps import AppConfig


class SocialConfig(AppConfig):
    name = "social"
    verbose_name = "Social"

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_out

        from accounts.signals import sign_ins_ended
        from workbooks.signals import workbook_featured, workbook_published

        workbook_published.connect(_published, dispatch_uid="social.published")
        workbook_featured.connect(_featured, dispatch_uid="social.featured")
        # Live connections follow the sign-in they were opened with.
        sign_ins_ended.connect(_sign_ins_ended, dispatch_uid="social.sign_ins_ended")
        user_logged_out.connect(_signed_out, dispatch_uid="social.signed_out")


def _published(sender, workbook, **kwargs) -> None:
    from .services import record_published

    record_published(workbook)


def _featured(sender, workbook, curator, **kwargs) -> None:
    from .services import record_featured

    record_featured(workbook, curator)


def _sign_ins_ended(sender, user, **kwargs) -> None:
    from .push import sign_ins_ended

    sign_ins_ended(user.pk)


def _signed_out(sender, request, user, **kwargs) -> None:
    from .push import signed_out

    # Sent before the session is flushed, so its key is still there to name it.
    session_key = getattr(getattr(request, "session", None), "session_key", None)
    if user is not None and session_key:
        signed_out(user.pk, session_key)
