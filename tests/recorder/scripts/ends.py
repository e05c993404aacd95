"""Ends as told by its first argument, after 0.2 s of work in `busy`, in ways that give
the program no chance to finish anything."""
import ctypes
import os
import signal
import sys
import time


def busy(seconds):
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        pass


busy(0.2)
mode = sys.argv[1]
if mode == "exit":
    os._exit(3)
if mode == "term":
    os.kill(os.getpid(), signal.SIGTERM)
if mode == "hup":
    os.kill(os.getpid(), signal.SIGHUP)
if mode == "segv":
    ctypes.string_at(0)
if mode == "abort":
    os.abort()
if mode == "wait":
    print("ready", flush=True)
    time.sleep(30)
