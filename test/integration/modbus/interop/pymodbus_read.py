"""Reads tags from a Modbus TCP server with pymodbus and decodes them with pymodbus's own payload decoder.

An independent implementation for iotd's interoperability tests: nothing here comes from iotd. Usage:
    python3 pymodbus_read.py HOST PORT ORDER UNIT[,UNIT...] < tags.json
    python3 pymodbus_read.py serial:/dev/pts/N BAUD ORDER UNIT[,UNIT...] < tags.json   (Modbus RTU, pymodbus's serial client)
tags.json is a list of {name, table, address, type, words, length?, scale?, bit?}; prints {unit: {name: value}}.
"""
import json
import sys

from pymodbus.client import ModbusSerialClient, ModbusTcpClient
from pymodbus.constants import Endian
from pymodbus.payload import BinaryPayloadDecoder

ORDERS = {
    "ABCD": (Endian.Big, Endian.Big),
    "CDAB": (Endian.Big, Endian.Little),
    "BADC": (Endian.Little, Endian.Big),
    "DCBA": (Endian.Little, Endian.Little),
}


def decode(tag, regs, order):
    byteorder, wordorder = ORDERS[order]
    t = tag["type"]
    if t == "bit":
        return bool((regs[0] >> tag["bit"]) & 1)
    if t == "string":
        # Strings keep their register order; only the byte swap inside each register applies.
        swapped = order in ("BADC", "DCBA")
        raw = b"".join((r.to_bytes(2, "little") if swapped else r.to_bytes(2, "big")) for r in regs)
        return raw[: tag["length"]].rstrip(b"\0").decode()
    d = BinaryPayloadDecoder.fromRegisters(regs, byteorder=byteorder, wordorder=wordorder)
    value = {
        "int16": d.decode_16bit_int,
        "uint16": d.decode_16bit_uint,
        "int32": d.decode_32bit_int,
        "uint32": d.decode_32bit_uint,
        "float32": d.decode_32bit_float,
        "int64": d.decode_64bit_int,
        "uint64": d.decode_64bit_uint,
        "float64": d.decode_64bit_float,
    }[t]()
    return value * tag.get("scale", 1) if tag.get("scale", 1) != 1 else value


def main():
    host, port, order, units = sys.argv[1], int(sys.argv[2]), sys.argv[3], [int(u) for u in sys.argv[4].split(",")]
    tags = json.load(sys.stdin)
    if host.startswith("serial:"):
        client = ModbusSerialClient(host[len("serial:"):], baudrate=port, timeout=2)
    else:
        client = ModbusTcpClient(host, port=port, timeout=2)
    if not client.connect():
        raise SystemExit(f"cannot connect to {host}:{port}")
    out = {}
    for unit in units:
        values = {}
        for tag in tags:
            table = tag["table"]
            if table == "coil":
                rr = client.read_coils(tag["address"], 1, slave=unit)
                values[tag["name"]] = bool(rr.bits[0])
                continue
            if table == "discrete":
                rr = client.read_discrete_inputs(tag["address"], 1, slave=unit)
                values[tag["name"]] = bool(rr.bits[0])
                continue
            read = client.read_holding_registers if table == "holding" else client.read_input_registers
            rr = read(tag["address"], tag["words"], slave=unit)
            if rr.isError():
                raise SystemExit(f"unit {unit} {tag['name']}: {rr}")
            values[tag["name"]] = decode(tag, rr.registers, tag.get("order", order))
        out[unit] = values
    client.close()
    print(json.dumps(out))


main()
