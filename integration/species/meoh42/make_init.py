import math, random
random.seed(11)
L = 7.8
def rot(v, R): return [sum(R[i][j]*v[j] for j in range(3)) for i in range(3)]
def randrot():
    # random quaternion
    u1,u2,u3 = random.random(),random.random(),random.random()
    q = (math.sqrt(1-u1)*math.sin(2*math.pi*u2), math.sqrt(1-u1)*math.cos(2*math.pi*u2),
         math.sqrt(u1)*math.sin(2*math.pi*u3), math.sqrt(u1)*math.cos(2*math.pi*u3))
    x,y,z,w = q
    return [[1-2*(y*y+z*z),2*(x*y-z*w),2*(x*z+y*w)],[2*(x*y+z*w),1-2*(x*x+z*z),2*(y*z-x*w)],[2*(x*z-y*w),2*(y*z+x*w),1-2*(x*x+y*y)]]
def meoh():
    a = math.radians(108.5)
    t = math.radians(109.47)
    hs = []
    for k in range(3):
        phi = 2*math.pi*k/3
        hs.append(('H',[-1.09*math.cos(math.pi-t), 1.09*math.sin(math.pi-t)*math.cos(phi), 1.09*math.sin(math.pi-t)*math.sin(phi)]))
    # C at origin, O along +x; C-H point away from O: x = -1.09*cos(70.5)
    hs = [('H',[-abs(p[0]),p[1],p[2]]) for _,p in hs]
    return [('C',[0,0,0]),('O',[1.43,0,0]),('H',[1.43-0.96*math.cos(a),0.96*math.sin(a),0])]+hs
def water():
    a = math.radians(104.5)/2
    return [('O',[0,0,0]),('H',[0.96*math.cos(a),0.96*math.sin(a),0]),('H',[0.96*math.cos(a),-0.96*math.sin(a),0])]
mols = [meoh() for _ in range(4)] + [water() for _ in range(6)]
placed = []
def mind(p,q):
    d=[(p[i]-q[i]) for i in range(3)]
    d=[x-L*round(x/L) for x in d]
    return math.sqrt(sum(x*x for x in d))
for m in mols:
    for attempt in range(100000):
        R = randrot(); c = [random.random()*L for _ in range(3)]
        atoms = [(s,[c[i]+rot(p,R)[i] for i in range(3)]) for s,p in m]
        ok = all(mind(p,q) >= (2.7 if s!='H' and t!='H' else 1.9) for s,p in atoms for t,q in placed)
        if ok: placed += atoms; break
    else: raise SystemExit('no room')
print(len(placed)); print(f'4 MeOH 6 H2O cubic {L}')
for s,p in placed: print(f'{s:2s} {p[0]%L:12.6f} {p[1]%L:12.6f} {p[2]%L:12.6f}')
