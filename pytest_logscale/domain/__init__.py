"""The domain: records, the clock, ids, the store with every session rule, ordering, the dataset.

Nothing here knows of HTTP, GraphQL, Faker or pytest (``make lint`` enforces it).
"""
