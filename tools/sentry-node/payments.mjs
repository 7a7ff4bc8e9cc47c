// The module whose frames the grouping test compares.
export class PaymentError extends Error {
  constructor(message, options) {
    super(message, options);
    this.name = "PaymentError";
  }
}

export function charge(orderId) {
  try {
    authorize(orderId);
  } catch (cause) {
    throw new PaymentError(`charge failed for order ${orderId}`, { cause });
  }
}

function authorize(orderId) {
  throw new PaymentError(`card declined for order ${orderId}`);
}
