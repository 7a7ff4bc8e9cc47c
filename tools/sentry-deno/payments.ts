// The module whose frames the grouping test compares.
export class PaymentError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "PaymentError";
  }
}

export function charge(orderId: number) {
  try {
    authorize(orderId);
  } catch (cause) {
    throw new PaymentError(`charge failed for order ${orderId}`, { cause });
  }
}

function authorize(orderId: number) {
  throw new PaymentError(`card declined for order ${orderId}`);
}
