from django.apps import AppConfig


class NtaWebConfig(AppConfig):
    name = "nta_web"

    def ready(self) -> None:
        from .auth import announce

        announce()  # logging is configured by now (django.setup does it before loading apps)
