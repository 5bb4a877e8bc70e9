"""HTTP views: ``/dasf-broker/<topic>/status/`` and ``/dasf-broker/<topic>/ping/``."""

from django.urls import include, path

urlpatterns = [path("dasf-broker/", include("dasf_broker.urls"))]
