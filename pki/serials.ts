/** A certificate serial number as one spelling: lower-case hex, no leading zero octets. */
export function normalSerial(hex: string): string {
  return hex.toLowerCase().replace(/^(00)+(?=[0-9a-f])/, "");
}
