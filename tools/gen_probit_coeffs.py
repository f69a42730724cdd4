"""Fit fastinit's float32 probit polynomials (least squares on relative error, a few
Lawson reweighting steps toward minimax) and print them as C arrays."""
import numpy as np
from scipy.special import ndtri
import mpmath as mp

def horner32(coef, x):
    x = x.astype(np.float32); acc = np.float32(coef[-1])
    for c in coef[-2::-1]:
        acc = np.float32(acc*x) + np.float32(c)
    return acc

def fit(x, y, deg, center, iters=30):
    X = x - center
    V = np.vander(X, deg+1, increasing=True) / np.abs(y)[:, None]
    b = y / np.abs(y)
    wts = np.ones_like(x)
    for _ in range(iters):
        sw = np.sqrt(wts)
        coef, *_ = np.linalg.lstsq(V*sw[:, None], b*sw, rcond=None)
        err = np.abs(V @ coef - b)
        wts = wts * (err + 1e-300); wts /= wts.sum()
    return coef

t = np.linspace(1e-7, 0.5 - 1e-9, 300001)
w = -np.log(4*t*(1-t)); sel = w <= 5.0
t, w = t[sel], w[sel]; q = 0.5 - t; z = -ndtri(t)
A = fit(w, z/q, 9, 2.5)
print("// central max rel err (f32 eval):", np.max(np.abs(np.float32(q)*horner32(A, np.float32(w)-np.float32(2.5))/z-1)))
tails = []
for lo, hi, cen, deg in ((np.sqrt(5.0), 4.76, 3.5, 8), (4.74, 8.4, 6.5, 7)):
    s = np.linspace(lo, hi, 300001); ww = s*s
    e = np.exp(-ww); tt = np.where(e < 1e-8, e/4*(1+e/4), (1-np.sqrt(1-e))/2)
    zt = -ndtri(tt)
    c = fit(s, zt, deg, cen)
    print("// tail", lo, hi, "max rel err:", np.max(np.abs(horner32(c, np.float32(s)-np.float32(cen))/zt-1)))
    tails.append(c)
def arr(name, c):
    return "static const double %s[%d] = {%s};" % (name, len(c), ", ".join(repr(float(v)) for v in c))
print(arr("FI_PROBIT32_CENTRAL", A))
print(arr("FI_PROBIT32_TAIL", tails[0]))
print(arr("FI_PROBIT32_FAR", tails[1]))
mp.mp.dps = 50
ln2 = mp.log(2)
for bits, name in ((16, "F32"), (32, "F64")):
    hi = float(mp.floor(ln2 * 2**bits) / 2**bits)
    lo = float(ln2 - mp.mpf(hi))
    print(f"#define FI_LN2_HI_{name} {hi!r}\n#define FI_LN2_LO_{name} {lo!r}")
