"""Platform adapters: one ``CartPlatform`` API over Shopify, BigCommerce and Elastic Path."""
