"""A pymodbus TCP server holding known values in each word order, for iotd's client to read.

Usage: python3 pymodbus_server.py PORT, or python3 pymodbus_server.py serial:/dev/pts/N BAUD (Modbus RTU on a serial line). Holding registers from offset 0, per order (ABCD, CDAB, BADC, DCBA) a block of
20 registers: float32 21.5, int32 -123456, uint64 2^53-1, float64 -0.125, int16 -7, string "PYMODBUS" (8 chars);
from offset 80, 64-bit integers beyond 2^53 (see below).
Prints "ready" when it listens.
"""
import sys
import threading

from pymodbus.constants import Endian
from pymodbus.datastore import ModbusSequentialDataBlock, ModbusServerContext, ModbusSlaveContext
from pymodbus.payload import BinaryPayloadBuilder
from pymodbus.server import StartSerialServer, StartTcpServer

ORDERS = [("ABCD", Endian.Big, Endian.Big), ("CDAB", Endian.Big, Endian.Little), ("BADC", Endian.Little, Endian.Big), ("DCBA", Endian.Little, Endian.Little)]

registers = []
for _name, byteorder, wordorder in ORDERS:
    b = BinaryPayloadBuilder(byteorder=byteorder, wordorder=wordorder)
    b.add_32bit_float(21.5)
    b.add_32bit_int(-123456)
    b.add_64bit_uint(2**53 - 1)
    b.add_64bit_float(-0.125)
    b.add_16bit_int(-7)
    block = b.to_registers()
    text = b"PYMODBUS"
    swapped = byteorder == Endian.Little
    block += [int.from_bytes(text[i : i + 2], "little" if swapped else "big") for i in range(0, len(text), 2)]
    block += [0] * (20 - len(block))
    registers += block

# From offset 80, 64-bit integers a float64 cannot hold (ABCD): uint64 2^53+1, uint64 2^64-1, int64 -(2^53+1),
# int64 -2^63.
b = BinaryPayloadBuilder(byteorder=Endian.Big, wordorder=Endian.Big)
b.add_64bit_uint(2**53 + 1)
b.add_64bit_uint(2**64 - 1)
b.add_64bit_int(-(2**53 + 1))
b.add_64bit_int(-(2**63))
registers += b.to_registers()

# zero_mode: address 0 on the wire is the first value (pymodbus otherwise shifts by one).
store = ModbusSlaveContext(hr=ModbusSequentialDataBlock(0, registers), zero_mode=True)
context = ModbusServerContext(slaves={7: store}, single=False)
threading.Timer(0.5, lambda: print("ready", flush=True)).start()
if sys.argv[1].startswith("serial:"):
    from pymodbus.transaction import ModbusRtuFramer

    StartSerialServer(context=context, framer=ModbusRtuFramer, port=sys.argv[1][len("serial:"):], baudrate=int(sys.argv[2]))
else:
    StartTcpServer(context=context, address=("127.0.0.1", int(sys.argv[1])))
