# Type stub for ufuncgen: the decorators return numpy.ufunc objects.
from typing import Any, Callable, Iterable, Literal, Mapping, overload

import numpy as np

__version__: str

_Kernel = Callable[..., Any] | str
_Sigs = str | Iterable[Any] | None
_FastMath = bool | set[str] | frozenset[str] | Mapping[str, bool]

class Type:
    name: str
    def __getitem__(self, dims: Any) -> ArrayType: ...
    def __call__(self, *args: Any) -> Signature: ...

class ArrayType:
    ndim: int
    layout: str

class Signature:
    return_type: Any
    args: tuple[Any, ...]

boolean: Type
bool_: Type
b1: Type
int8: Type
int16: Type
int32: Type
int64: Type
uint8: Type
uint16: Type
uint32: Type
uint64: Type
i1: Type
i2: Type
i4: Type
i8: Type
u1: Type
u2: Type
u4: Type
u8: Type
byte: Type
intc: Type
uintc: Type
intp: Type
uintp: Type
int_: Type
uint: Type
long_: Type
ulong: Type
float16: Type
f2: Type
float32: Type
float64: Type
f4: Type
f8: Type
float_: Type
double: Type
complex64: Type
complex128: Type
c8: Type
c16: Type
void: Type
none: Type

@overload
def vectorize(func: Callable[..., Any], /) -> np.ufunc: ...
@overload
def vectorize(
    signatures: _Sigs = ...,
    target: Literal["cpu", "parallel"] = ...,
    cache: bool = ...,
    identity: int | str | None = ...,
    fastmath: _FastMath = ...,
    boundscheck: bool | None = ...,
    *,
    math: Literal["fast", "libm"] = ...,
    lazy: bool | None = ...,
    background: bool = ...,
    **options: Any,
) -> Callable[[_Kernel], np.ufunc]: ...
@overload
def vectorize(source: str, signatures: _Sigs = ..., /, **options: Any) -> np.ufunc: ...
@overload
def guvectorize(layout: str, /, **options: Any) -> Callable[[_Kernel], np.ufunc]: ...
@overload
def guvectorize(
    signatures: _Sigs,
    layout: str,
    target: Literal["cpu", "parallel"] = ...,
    cache: bool = ...,
    writable_args: Iterable[int | str] = ...,
    identity: int | str | None = ...,
    fastmath: _FastMath = ...,
    boundscheck: bool | None = ...,
    *,
    math: Literal["fast", "libm"] = ...,
    lazy: bool | None = ...,
    background: bool = ...,
    **options: Any,
) -> Callable[[_Kernel], np.ufunc]: ...
@overload
def guvectorize(source: str, signatures: _Sigs, layout: str, /, **options: Any) -> np.ufunc: ...

class _Helper:
    py_func: Callable[..., Any]
    def __call__(self, *args: Any, **kwargs: Any) -> Any: ...

@overload
def njit(func: Callable[..., Any], /) -> _Helper: ...
@overload
def njit(*args: Any, **options: Any) -> Callable[[Callable[..., Any]], _Helper]: ...

jit = njit

def prange(*args: int) -> range: ...
def set_num_threads(n: int) -> None: ...
def get_num_threads() -> int: ...
def get_thread_id() -> int: ...
def is_ufuncgen(obj: object) -> bool: ...
def loops(uf: np.ufunc) -> list[tuple[str, ...]]: ...

class Wrapper:
    ufunc: np.ufunc
    @property
    def py_func(self) -> Callable[..., Any] | None: ...
    @property
    def is_dynamic(self) -> bool: ...
    @property
    def signatures(self) -> list[str]: ...
    def add(self, sig: Any) -> None: ...
    def disable_compile(self) -> None: ...
    def inspect_llvm(self) -> dict[str, str]: ...
    def inspect_asm(self) -> dict[str, str]: ...
    def inspect_types(self, file: Any = ...) -> dict[str, str] | None: ...

def wrapper(uf: np.ufunc) -> Wrapper: ...

class Vectorize:
    ufunc: np.ufunc | None
    py_func: Callable[..., Any]
    def __init__(self, func: Callable[..., Any], **options: Any) -> None: ...
    def add(self, sig: Any = ...) -> None: ...
    def disable_compile(self) -> None: ...
    def build_ufunc(self) -> np.ufunc: ...

class GUVectorize(Vectorize):
    def __init__(self, func: Callable[..., Any], layout: str, **options: Any) -> None: ...
