"""Run one training iteration and one evaluation batch of full-size EKLSR
configs on CPU (random init, nothing downloaded).

Checks that a paper-size model (CLIP ViT-B/16 towers, 512-d KLSF necks,
49408-way Text KLR head, the official-size DALL-E tokenizer with 8192 codes
and its 8192-way Image KLR head) builds from the config, produces the three
losses of eq. 18, back-propagates, takes an optimiser step and returns
retrieval embeddings; at 224x224 (14x14 patches, DALL-E on 112x112) and at
384x128 (24x8 patches, DALL-E on 192x64).

    python tools/analysis_tools/eklsr_full_size_check.py \\
        configs/eklsr/eklsr_vit-b16_1xb128_rsitmd-galr.py \\
        configs/eklsr/eklsr_vit-b16_1xb128_cuhkpedes.py
"""
import argparse
import os.path as osp
import sys
import time

sys.path.insert(0, osp.abspath(osp.join(osp.dirname(__file__), '..', '..')))


def check(config: str, batch_size: int = 2) -> dict:
    import torch
    from mmengine.config import Config
    from mmpretrain.structures import DataSample

    from sdtr.registry import MODELS
    from sdtr.utils import register_all_modules
    register_all_modules()
    cfg = Config.fromfile(config)
    cfg.model.pretrained = None  # no CLIP download
    if cfg.model.get('target_generator'):
        cfg.model.target_generator.pretrained = None  # no DALL-E download
    torch.manual_seed(0)
    t0 = time.time()
    model = MODELS.build(cfg.model)
    model.init_weights()
    size = cfg.model.image_encoder.image_size
    h, w = (size, size) if isinstance(size, int) else tuple(size)
    imgs = torch.randint(0, 256, (batch_size, 3, h, w), dtype=torch.uint8)
    samples = [DataSample(metainfo=dict(
        text='a man in a black jacket and blue jeans carrying a red bag',
        pid=i, image_id=i)) for i in range(batch_size)]
    data = model.data_preprocessor(
        dict(inputs=list(imgs), data_samples=samples), True)
    opt = torch.optim.Adam(
        [p for p in model.parameters() if p.requires_grad], lr=1e-5)
    model.train()
    t1 = time.time()
    losses = model(**data, mode='loss')
    sum(losses.values()).backward()
    opt.step()
    if not all(torch.isfinite(v) for v in losses.values()):
        raise RuntimeError(f'{config}: non-finite loss {losses}')
    t2 = time.time()
    model.eval()
    test = [DataSample(metainfo=dict(
        texts=['a woman with long hair', 'a red bag'], image_id=0, pid=0))]
    with torch.no_grad():
        out = model(inputs=data['inputs'][:1], data_samples=test,
                    mode='predict')
    t3 = time.time()
    grid = tuple(model.image_encoder.grid_size)
    return dict(
        config=config,
        params=sum(p.numel() for p in model.parameters()),
        losses={k: round(float(v), 4) for k, v in losses.items()},
        grid=grid,
        dalle_input=model.target_generator.input_size(grid)
        if model.target_generator is not None else None,
        img_feat=tuple(out[0].img_feat.shape),
        text_feats=tuple(out[0].text_feats.shape),
        build_s=round(t1 - t0, 1), train_iter_s=round(t2 - t1, 1),
        eval_batch_s=round(t3 - t2, 1))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('configs', nargs='+')
    parser.add_argument('--batch-size', type=int, default=2)
    args = parser.parse_args(argv)
    results = [check(c, args.batch_size) for c in args.configs]
    for r in results:
        print(r)
    return results


if __name__ == '__main__':
    main()
