"""Elastic Path Commerce Cloud Carts v2: the adapter (routes, calls), its token and payloads."""

from adapters.elastic_path.adapter import RETRY_RULES, ElasticPathAdapter
from adapters.elastic_path.connection import ElasticPathConnection, ElasticPathRef
from adapters.elastic_path.failures import NAME as ELASTIC_PATH

__all__ = [
    "ELASTIC_PATH",
    "RETRY_RULES",
    "ElasticPathAdapter",
    "ElasticPathConnection",
    "ElasticPathRef",
]
