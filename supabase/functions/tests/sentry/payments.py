"""The module whose frames the grouping test compares."""


class PaymentError(Exception):
    pass


def charge(order_id):
    authorize(order_id)


def authorize(order_id):
    raise PaymentError(f"card declined for order {order_id}")
