"""Terraform's numeric functions: ``abs``, ``ceil``, ``floor``, ``log``, ``pow``, ``signum``, ``min``,
``max``, ``sum``, ``parseint`` and ``range``, with the argument checks Terraform makes.

``log`` and ``pow`` compute in 64-bit floats, as Terraform does; the others exactly. ``range``
refuses more than 1,024 elements, as Terraform does.
"""

from __future__ import annotations

import math
from functools import reduce

from .functions import _list, as_string, function
from .values import Fail, active_budget, arithmetic, finite, normal_number, number

#: range() refuses to build more elements than this, as Terraform does.
MAX_RANGE = 1024
_DIGITS = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"


def whole(value, what: str = "a whole number") -> int:
    """A number argument that must be a whole number (an index, a count, a base)."""
    n = number(value)
    if not finite(n) or n != int(n):
        raise Fail(f"{what} is required")
    return int(n)


@function("abs")
def _abs(value):
    return normal_number(abs(number(value)))


@function("ceil")
def _ceil(value):
    n = number(value)
    if not finite(n):
        raise Fail("cannot round infinity to a whole number")
    return normal_number(math.ceil(n))


@function("floor")
def _floor(value):
    n = number(value)
    if not finite(n):
        raise Fail("cannot round infinity to a whole number")
    return normal_number(math.floor(n))


@function("log")
def _log(value, base):
    n, b = float(number(value)), float(number(base))
    try:
        return normal_number(math.log(n) / math.log(b))
    except (ValueError, ZeroDivisionError):
        raise Fail("log() of a number that is not positive, or in base 1") from None


@function("pow")
def _pow(value, power):
    try:
        return normal_number(math.pow(float(number(value)), float(number(power))))
    except (ValueError, OverflowError):
        raise Fail("pow() has no finite result for these numbers") from None


@function("signum")
def _signum(value):
    n = whole(value, "signum() needs a whole number")
    return (n > 0) - (n < 0)


@function("min")
def _min(*values):
    if not values:
        raise Fail("min() needs at least one number")
    return min(number(v) for v in values)


@function("max")
def _max(*values):
    if not values:
        raise Fail("max() needs at least one number")
    return max(number(v) for v in values)


@function("sum")
def _sum(values):
    items = _list(values)
    if not items:
        raise Fail("sum() of an empty list")
    if any(item is None for item in items):
        raise Fail("sum() of a list holding null")
    return reduce(lambda a, b: arithmetic("+", a, b), (number(item) for item in items))


@function("parseint")
def _parseint(text, base):
    """An integer in base 2 to 62, as Go's big.Int reads it: an optional sign, then digits only."""
    text, base = as_string(text), whole(base, "the base must be a whole number")
    if not 2 <= base <= 62:
        raise Fail("the base must be a whole number between 2 and 62")
    sign, digits = (-1, text[1:]) if text.startswith("-") else (1, text[1:] if text.startswith("+") else text)
    alphabet = _DIGITS[:base] if base > 36 else _DIGITS[:base] + _DIGITS[36:36 + max(0, base - 10)]
    if not digits or any(char not in alphabet for char in digits) or len(digits) > 4000:
        raise Fail(f"cannot parse {text!r} as a base {base} integer")
    result = 0
    for char in digits:
        result = result * base + (_DIGITS.index(char) if base > 36 else int(char, 36))
    return normal_number(sign * result)


@function("range")
def _range(*args):
    numbers = [number(a) for a in args]
    if not 1 <= len(numbers) <= 3:
        raise Fail("range() takes one, two or three numbers")
    if len(numbers) == 3:
        start, end, step = numbers
    else:
        start, end = (0, numbers[0]) if len(numbers) == 1 else numbers
        step = -1 if end < start else 1
    if step == 0:
        raise Fail("range(): the step must not be zero")
    if (step < 0 and end > start) or (step > 0 and end < start):
        raise Fail("range(): the end must be beyond the start in the step's direction")
    out = []
    value = start
    while (value > end) if step < 0 else (value < end):
        if len(out) >= MAX_RANGE:
            raise Fail(f"range() would make more than {MAX_RANGE} values")
        out.append(value)
        value = arithmetic("+", value, step)
    budget = active_budget()
    if budget is not None:
        budget.step(len(out))
    return out


# --- network addresses ------------------------------------------------------------------------------


def _network(prefix):
    import ipaddress

    try:
        return ipaddress.ip_network(as_string(prefix), strict=False)
    except ValueError:
        raise Fail(f"{as_string(prefix)!r} is not an IP address prefix") from None


@function("cidrhost")
def _cidrhost(prefix, host):
    network, index = _network(prefix), whole(host, "cidrhost() needs a whole host number")
    if not -network.num_addresses <= index < network.num_addresses:
        raise Fail(f"cidrhost(): host {index} is beyond the prefix's {network.num_addresses} addresses")
    return str(network[index])


@function("cidrnetmask")
def _cidrnetmask(prefix):
    network = _network(prefix)
    if network.version != 4:
        raise Fail("cidrnetmask() takes only IPv4 prefixes")
    return str(network.netmask)


@function("cidrsubnet")
def _cidrsubnet(prefix, newbits, netnum):
    network = _network(prefix)
    bits = whole(newbits, "cidrsubnet() needs whole numbers")
    number_ = whole(netnum, "cidrsubnet() needs whole numbers")
    length = network.prefixlen + bits
    if bits < 0 or length > network.max_prefixlen:
        raise Fail(f"cidrsubnet(): {network} has no room for {bits} more bits")
    if not 0 <= number_ < 2 ** bits:
        raise Fail(f"cidrsubnet(): {number_} does not fit in {bits} bits")
    import ipaddress

    base = int(network.network_address) + (number_ << (network.max_prefixlen - length))
    return str(ipaddress.ip_network((base, length)))


@function("cidrsubnets")
def _cidrsubnets(prefix, *newbits):
    import ipaddress

    network = _network(prefix)
    out, start = [], int(network.network_address)
    for bits in newbits:
        bits = whole(bits, "cidrsubnets() needs whole numbers")
        length = network.prefixlen + bits
        if bits < 1 or length > network.max_prefixlen:
            raise Fail(f"cidrsubnets(): {network} has no room for {bits} more bits")
        size = 1 << (network.max_prefixlen - length)
        start = -(-start // size) * size  # aligned to the new prefix
        if start + size > int(network.network_address) + network.num_addresses:
            raise Fail(f"cidrsubnets(): not enough room in {network}")
        out.append(str(ipaddress.ip_network((start, length))))
        start += size
    return out
